extension QRCode {
    /// Inline SVG markup (no XML prolog) with a 4-module quiet zone on a white background and the dark modules as one
    /// `<path>`. The `viewBox` is in modules; `width`/`height` are `moduleSize` pixels per module.
    /// The image is exposed to assistive technology as `role="img"` named by `label` (default "QR code").
    package func svg(moduleSize: Int = 4, label: String? = nil) -> String {
        precondition(moduleSize > 0, "moduleSize must be positive")
        let quietZone = Self.quietZone
        let extent = size + 2 * quietZone
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else {
                    x += 1
                    continue
                }
                let start = x
                while self[x, y] { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(extent) \(extent)" \
            width="\(extent * moduleSize)" height="\(extent * moduleSize)" shape-rendering="crispEdges" \
            role="img" aria-label="\(Self.escapeXML(label ?? "QR code"))">\
            <rect width="\(extent)" height="\(extent)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }

    private static func escapeXML(_ text: String) -> String {
        text.reduce(into: "") { result, character in
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
    }
}
