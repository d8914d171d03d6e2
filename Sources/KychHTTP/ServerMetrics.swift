import HTTPTypes
import Hummingbird
import KychCore
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// The metrics of one server (a process; in tests, one application of many): a Prometheus registry of its own, bound
/// to the tasks that serve its requests and run its services, so that swift-metrics' API (`Counter(label:)`) anywhere
/// below counts into it. `MetricsSystem.bootstrap` is never called: two servers in one process count apart.
package struct ServerMetrics: Sendable {
    /// `nil` without a metrics listener: then nothing is counted.
    package let registry: PrometheusCollectorRegistry?
    package let factory: any MetricsFactory

    /// Counts into a new registry when `listener` (`METRICS_HOST`/`METRICS_PORT` or `METRICS_UNIXPATH`) is set.
    package init(listener: ServerBinding?) {
        guard listener != nil else {
            registry = nil
            factory = NOOPMetricsHandler.instance
            return
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // From a quick answer to a `/status` long poll's 30 s.
        factory.defaultDurationHistogramBuckets = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                                   .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)]
        self.registry = registry
        self.factory = factory
    }

    /// Runs `body` with this server's factory bound: what it counts, in any module, counts here.
    package func bound<T>(_ body: () async throws -> T) async throws -> T {
        try await withMetricsFactory(factory) { try await body() }
    }

    /// `service`, run with this server's factory bound (webhook deliveries, purges, the database pool).
    package func bind(_ service: any Service) -> any Service {
        registry == nil ? service : BoundService(service: service, metrics: self)
    }

    /// The registry in the Prometheus text format.
    package func exposition() -> String {
        registry?.emitToString() ?? ""
    }

    /// The listener serving `GET /metrics` on `binding`, and nothing else.
    package func listener(on binding: ServerBinding, serverName: String, logger: Logger) -> any Service {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: exposition())))
        }
        let app = makeServer(router: router, binding: binding, requestTimeout: .seconds(30), serverName: "\(serverName) metrics",
                             logger: logger)
        return MetricsListener(app: app, binding: binding)
    }
}

/// A service run with a server's metrics factory bound.
private struct BoundService: Service {
    let service: any Service
    let metrics: ServerMetrics

    func run() async throws {
        try await metrics.bound { try await service.run() }
    }
}

/// The metrics listener: its Unix socket file replaced when stale and removed at the end, as the server's own.
private struct MetricsListener: Service {
    let app: any Service
    let binding: ServerBinding

    func run() async throws {
        try await binding.serve { try await app.run() }
    }
}

/// Names every request (``RequestID``: the caller's `X-Request-Id` if safe, else a new one), echoes it in the answer and
/// binds it to the task serving the request, so every log line of that request carries it; counts requests by route
/// pattern (never the path with its ids), method and status, their durations, and those in flight (the `/status`
/// route's are the long polls open). The outermost middleware.
package struct RequestObservation<Context: RequestContext>: RouterMiddleware {
    package static var header: HTTPField.Name { HTTPField.Name(RequestID.header)! }
    let metrics: ServerMetrics

    package init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = RequestID.accept(request.headers[Self.header])
        return try await RequestID.$current.withValue(id) {
            try await metrics.bound {
                // The router sets it before the middleware runs; its not-found responder sets "NotFound" only later.
                let route = context.endpointPath ?? "NotFound"
                let started = ContinuousClock.now
                let inFlight = Meter(label: "kych_http_requests_in_flight", dimensions: [("route", route)])
                inFlight.increment()
                defer { inFlight.decrement() }
                var response: Response
                do {
                    response = try await next(request, context)
                } catch let error as any HTTPResponseError {
                    response = try error.response(from: request, context: context)
                } catch {
                    count(route: route, method: request.method, status: 500, since: started)
                    throw error
                }
                count(route: route, method: request.method, status: response.status.code, since: started)
                response.headers[Self.header] = id
                return response
            }
        }
    }

    private func count(route: String, method: HTTPRequest.Method, status: Int, since started: ContinuousClock.Instant) {
        // Any token is a method to the parser: only the usual ones become label values.
        let methods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .delete, .options, .patch]
        let dimensions = [("route", route), ("method", methods.contains(method) ? method.rawValue : "other"), ("status", String(status))]
        Counter(label: "kych_http_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "kych_http_request_duration_seconds", dimensions: dimensions).record(duration: ContinuousClock.now - started)
    }
}
