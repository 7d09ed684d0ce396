using System.Net;

namespace Gateway.Tests.Observability;

/// <summary>The same traffic gives the same request counts on the native codec and on Kestrel's.</summary>
public sealed class MetricsCodecParityTests
{
    [Fact]
    public async Task Both_http1_codecs_count_the_same_traffic_alike()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var config = $$$"""
            routes:
              - {id: items, path: "/items/:id", backend: "{{{backend.Url}}}", methods: [GET, POST, HEAD]}
              - {id: hello, path: /hello, mock: {status: 200, body: hi}}
            """;
        var counts = new List<Dictionary<string, double>>();
        foreach (var codec in new[] { "native", "kestrel" })
        {
            await using var gateway = await TestGateway.StartOnCodecAsync(codec, config);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/items/1")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.PostAsync("/items/2", new StringContent("body"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/items/3"))).StatusCode);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await gateway.Client.DeleteAsync("/items/4")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/hello")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/nothing/here")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await gateway.Client.GetAsync("/items/a%2Fb")).StatusCode);

            var samples = await MetricsText.ScrapeAsync(gateway);
            var byLabels = samples.Named("gateway_requests_total").ToDictionary(s => $"{s["route"]} {s["method"]} {s["status"]}", s => s.Value);
            byLabels["attempts"] = samples.Named("gateway_backend_requests_total").Sum(s => s.Value);
            byLabels["durations"] = samples.Named("gateway_request_duration_seconds_count").Sum(s => s.Value);
            counts.Add(byLabels);
        }

        Assert.Equal(counts[0].OrderBy(p => p.Key, StringComparer.Ordinal), counts[1].OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(7, counts[0]["durations"]);
        Assert.Equal(3, counts[0]["attempts"]);
        // A 405 has no route (the path matched, no route took the method); an encoded slash is refused by its route.
        Assert.Equal(1, counts[0]["unmatched DELETE 405"]);
        Assert.Equal(1, counts[0]["items GET 400"]);
    }
}
