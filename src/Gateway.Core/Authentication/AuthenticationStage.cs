using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Authentication;

/// <summary>
/// Authentication stage: 401 with <c>WWW-Authenticate</c> for missing or invalid credentials, 503 when they cannot be
/// checked now. Its compile step also shapes every route's upstream request: identity headers are the gateway's on
/// every route (the client's copies never pass), and a route that keeps credentials at the gateway drops them.
/// </summary>
internal sealed class AuthenticationStage : Stage<AuthPolicy>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => AuthValidator.Validate(config, diagnostics);

    protected override AuthPolicy? CompilePolicy(StageCompilation compilation)
    {
        var services = compilation.Once(static c => new AuthServices(c.Config.Auth, c.State));
        var upstream = compilation.Upstream!;
        foreach (var name in services.IdentityHeaders.Names)
        {
            upstream.Drop(name);
        }

        if (compilation.RouteConfig!.Auth is not { } auth)
        {
            return null;
        }

        var tls = compilation.Config.Tls;
        var policy = new AuthPolicy(auth, compilation.Config.Auth, services, tls is { EnableMtls: true } or { RequireClientCert: true });
        if (policy.AllowApiKey)
        {
            // A second spelling of the key header (X_API_Key) would reach a CGI-style backend unchecked.
            upstream.Own(policy.ApiKeyHeader!);
        }

        if (!policy.ForwardAuthorization)
        {
            // Credentials stay at the gateway, wherever they were read from.
            upstream.DropAuthorization = true;
            if (policy.ApiKeyHeader is { } header)
            {
                upstream.Drop(header);
            }

            upstream.DropCookie = policy.TokenCookie;
            upstream.DropQueryParameter = policy.TokenQuery;
        }

        return policy;
    }

    protected override ValueTask<bool> Request(Exchange exchange, AuthPolicy policy)
    {
        // Static keys and in-memory API keys decide synchronously: no state machine on the common path.
        var pending = Authenticator.AuthenticateAsync(exchange, policy, exchange.Offline);
        return pending.IsCompletedSuccessfully ? new ValueTask<bool>(Decide(exchange, policy, pending.Result)) : AwaitAsync(exchange, policy, pending);
    }

    private static async ValueTask<bool> AwaitAsync(Exchange exchange, AuthPolicy policy, ValueTask<AuthDecision> pending) =>
        Decide(exchange, policy, await pending.ConfigureAwait(false));

    private static bool Decide(Exchange exchange, AuthPolicy policy, AuthDecision decision)
    {
        if (decision.Allowed)
        {
            exchange.Identity = decision.Identity;
            if (decision.Identity is { } identity)
            {
                exchange.IdentityHeaders = identity.HeadersFor(policy.Services.IdentityHeaders);
            }

            return true;
        }

        var failure = decision.Failure!.Value;
        var reason = AnswerReasons.Auth(failure.Reason);
        exchange.Respond(decision.Status == StatusCodes.Status503ServiceUnavailable
            ? Problems.Create(exchange, StatusCodes.Status503ServiceUnavailable, reason, "urn:gateway:problem:auth-unavailable", "Service Unavailable",
                failure.Detail, HeaderNames.RetryAfter, "5")
            : Problems.Create(exchange, StatusCodes.Status401Unauthorized, reason, "urn:gateway:problem:unauthorized", "Unauthorized",
                failure.Detail, HeaderNames.WWWAuthenticate, decision.Challenge));
        return false;
    }

    protected override string? Describe(AuthPolicy policy) => policy.Describe();
}
