using System.Diagnostics.Metrics;
using Gateway.Authentication;
using Gateway.Configuration;

namespace Gateway.Tests.Authentication;

public sealed class AuthMetricsTests
{
    [Fact]
    public async Task Attempts_and_failures_are_counted_by_method_and_reason()
    {
        var state = Gateway.State.LiveState.ForOffline();
        var seen = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == state.Meters)
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

        var auth = new AuthConfig
        {
            Jwt = new JwtConfig { Secret = Tokens.Secret, Issuer = Tokens.Issuer, Audience = new StringList([Tokens.Audience]) },
        };
        var services = new AuthServices(auth, state);
        var policy = new AuthPolicy(new RouteAuthConfig { Required = true }, auth, services);
        var config = ConfigCompiler.Compile(new GatewayConfig(), 1, DateTimeOffset.UnixEpoch);
        foreach (var token in new[] { Tokens.Hs256(Tokens.Claims(expiresInSecs: -600)), Tokens.Hs256() })
        {
            Assert.True(Gateway.Pipeline.OfflineChannel.TryCreate(config, "GET", "/", [$"Authorization: Bearer {token}"], System.Net.IPAddress.Loopback, out var exchange, out _));
            await Authenticator.AuthenticateAsync(exchange, policy, offline: false);
        }

        lock (seen)
        {
            Assert.Contains(seen, m => m.Instrument == "gateway_auth_failures_total" && (string?)m.Tags["method"] == "jwt" && (string?)m.Tags["reason"] == "expired");
            Assert.Contains(seen, m => m.Instrument == "gateway_auth_attempts_total" && (string?)m.Tags["result"] == "success");
            Assert.Contains(seen, m => m.Instrument == "gateway_auth_attempts_total" && (string?)m.Tags["result"] == "failure");
        }
    }
}
