import KychOAuth
import Testing

@Suite struct RedirectURITests {
    @Test func parametersAreAppendedEscaped() {
        #expect(RedirectURI.with("https://x.example/cb", [("code", "a b"), ("state", "S1"), ("iss", nil)])
            == "https://x.example/cb?code=a%20b&state=S1")
        #expect(RedirectURI.with("https://x.example/cb?tenant=1", [("error", "access_denied")]) == "https://x.example/cb?tenant=1&error=access_denied")
    }
}
