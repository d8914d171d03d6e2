import Hummingbird

/// Pages outside the OAuth flow: `GET /`, where a client (the Taler exchange's `KYC_OAUTH2_POST_URL`) sends the
/// person after a successful check.
enum PageRoutes {
    static func register(on router: Router<GatewayRequestContext>) {
        router.get("/") { request, _ in Pages.done(request: request) }
    }
}
