using System.Diagnostics.Metrics;
using Gateway.Authentication;
using Gateway.Configuration;

namespace Gateway.Tests.Authentication;

public sealed class AuthMetricsTests
{
    [Fact]
    public async Task Attempts_and_failures_are_counted_by_method_and_reason()
    {
        var seen = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == AuthMetrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                map[tag.Key] = tag.Value;
            }

            lock (seen)
            {
                seen.Add((instrument.Name, value, map));
            }
        });
        listener.Start();

        var services = new AuthServices(new AuthConfig
        {
            Jwt = new JwtConfig { Secret = Tokens.Secret, Issuer = Tokens.Issuer, Audience = new StringList([Tokens.Audience]) },
        }, TimeProvider.System, null);
        var policy = new AuthPolicy(new RouteAuthConfig { Required = true }, new AuthConfig { Jwt = new JwtConfig() });
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Headers.Authorization = "Bearer " + Tokens.Hs256(Tokens.Claims(expiresInSecs: -600));
        await Authenticator.AuthenticateAsync(context.Request, policy, services, offline: false);
        context.Request.Headers.Authorization = "Bearer " + Tokens.Hs256();
        await Authenticator.AuthenticateAsync(context.Request, policy, services, offline: false);

        lock (seen)
        {
            Assert.Contains(seen, m => m.Instrument == "gateway_auth_failures_total" && (string?)m.Tags["method"] == "jwt" && (string?)m.Tags["reason"] == "expired");
            Assert.Contains(seen, m => m.Instrument == "gateway_auth_attempts_total" && (string?)m.Tags["result"] == "success");
            Assert.Contains(seen, m => m.Instrument == "gateway_auth_attempts_total" && (string?)m.Tags["result"] == "failure");
        }
    }
}
