using System.Net;
using Gateway.Configuration;
using Gateway.IpFiltering;

namespace Gateway.Tests.IpFiltering;

/// <summary>IP allow and deny lists: the address sets, the order of the lists, and the filter end to end.</summary>
public sealed class IpFilterTests
{
    private static IpRangeSet Set(params string[] networks) =>
        IpRangeSet.Build(networks.Select(n => ValidationRulesNetwork(n)));

    private static IPNetwork ValidationRulesNetwork(string text) =>
        Gateway.Configuration.Validation.ValidationRules.TryParseNetwork(text, out var network, out var error) ? network : throw new ArgumentException(error);

    [Theory]
    [InlineData("10.0.0.0/8", "10.255.255.255", true)]
    [InlineData("10.0.0.0/8", "11.0.0.0", false)]
    [InlineData("10.0.0.0/8", "9.255.255.255", false)]
    [InlineData("203.0.113.5", "203.0.113.5", true)]
    [InlineData("203.0.113.5", "203.0.113.6", false)]
    [InlineData("0.0.0.0/0", "255.255.255.255", true)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "11.1.2.3", false)]
    [InlineData("::/0", "192.0.2.1", false)]
    [InlineData("::/0", "2001:db8::1", true)]
    [InlineData("2001:db8::/32", "2001:db8:ffff::1", true)]
    [InlineData("2001:db8::/32", "2001:db9::1", false)]
    [InlineData("2001:db8::/32", "10.0.0.1", false)]
    [InlineData("::1", "::1", true)]
    [InlineData("::1", "127.0.0.1", false)]
    [InlineData("127.0.0.1", "::1", false)]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    public void Networks_hold_exactly_their_addresses(string network, string address, bool expected) =>
        Assert.Equal(expected, Set(network).Contains(IPAddress.Parse(address)));

    [Fact]
    public void Overlapping_and_adjacent_blocks_merge_and_still_answer_exactly()
    {
        var set = Set("10.0.0.0/9", "10.128.0.0/9", "10.64.0.0/10", "192.0.2.0/25", "192.0.2.200", "255.255.255.255", "2001:db8::/33", "2001:db8:8000::/33");
        Assert.Equal(5, set.Count);
        Assert.True(set.Contains(IPAddress.Parse("10.200.0.1")));
        Assert.True(set.Contains(IPAddress.Parse("192.0.2.127")));
        Assert.False(set.Contains(IPAddress.Parse("192.0.2.128")));
        Assert.True(set.Contains(IPAddress.Parse("192.0.2.200")));
        Assert.False(set.Contains(IPAddress.Parse("192.0.2.201")));
        Assert.True(set.Contains(IPAddress.Parse("255.255.255.255")));
        Assert.True(set.Contains(IPAddress.Parse("2001:db8:ffff::1")));
        Assert.False(set.Contains(IPAddress.Parse("2001:db9::")));
    }

    [Fact]
    public void A_set_answers_like_checking_every_network_in_turn()
    {
        var random = new Random(1234);
        var networks = new List<IPNetwork>();
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[4];
            random.NextBytes(bytes);
            var prefix = random.Next(8, 33);
            networks.Add(new IPNetwork(Mask(new IPAddress(bytes), prefix), prefix));
        }

        var set = IpRangeSet.Build(networks);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[4];
            random.NextBytes(bytes);
            // Half of the probes are near a network's start, where off-by-one errors live.
            var address = i % 2 == 0 ? new IPAddress(bytes) : Near(networks[random.Next(networks.Count)], random.Next(-2, 3));
            Assert.Equal(networks.Any(n => n.Contains(address)), set.Contains(address));
        }
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        var masked = prefix == 0 ? 0 : value & (uint.MaxValue << (32 - prefix));
        var bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, masked);
        return new IPAddress(bytes);
    }

    private static IPAddress Near(IPNetwork network, int offset)
    {
        var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(network.BaseAddress.GetAddressBytes());
        var bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, unchecked(value + (uint)offset));
        return new IPAddress(bytes);
    }

    [Theory]
    // The blacklist wins over the whitelist; then the whitelist; then the default.
    [InlineData("{whitelist: [127.0.0.0/8], blacklist: [127.0.0.1]}", 403)]
    [InlineData("{whitelist: [127.0.0.1], default_action: deny}", 200)]
    [InlineData("{whitelist: [10.0.0.0/8], default_action: deny}", 403)]
    [InlineData("{blacklist: [127.0.0.0/8]}", 403)]
    [InlineData("{blacklist: [10.0.0.0/8]}", 200)]
    [InlineData("{default_action: deny}", 403)]
    [InlineData("{whitelist: ['::ffff:127.0.0.1'], default_action: deny}", 200)]
    [InlineData("{whitelist: ['::/0'], default_action: deny}", 403)]
    public async Task A_route_filter_decides_on_the_client_address(string filter, int status)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /api, backend: "{{{backend.Url}}}", ip_filter: {{{filter}}} }
            """);
        using var response = await gateway.Client.GetAsync("/api");
        Assert.Equal(status, (int)response.StatusCode);
        if (status == 403)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("urn:gateway:problem:ip-denied", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(0, backend.Requests);
        }
    }

    [Fact]
    public async Task The_global_filter_covers_every_route_and_a_route_filter_replaces_it()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            ip_filter:
              blacklist: [127.0.0.0/8]
            routes:
              - {path: /api, backend: "{{{backend.Url}}}"}
              - {path: /mock, mock: {status: 200}}
              - {path: /internal, backend: "{{{backend.Url}}}", ip_filter: {whitelist: [127.0.0.1], default_action: deny} }
            """);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.GetAsync("/api")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.GetAsync("/mock")).StatusCode);
        Assert.Equal(0, backend.Requests);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/internal")).StatusCode);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task A_spoofed_forwarded_for_does_not_pass_a_whitelist_and_a_trusted_proxy_s_does()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        const string routes = """
            routes:
              - {path: /api, backend: "BACKEND", ip_filter: {whitelist: [10.0.0.0/8], default_action: deny} }
            """;
        await using (var untrusted = await TestGateway.StartAsync(routes.Replace("BACKEND", backend.Url, StringComparison.Ordinal)))
        {
            foreach (var (name, value) in new[] { ("X-Forwarded-For", "10.1.2.3"), ("Forwarded", "for=10.1.2.3"), ("X-Real-IP", "10.1.2.3") })
            {
                using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/api");
                spoofed.Headers.TryAddWithoutValidation(name, value);
                Assert.Equal(HttpStatusCode.Forbidden, (await untrusted.Client.SendAsync(spoofed)).StatusCode);
            }
        }

        Assert.Equal(0, backend.Requests);
        await using var trusted = await TestGateway.StartAsync("server:\n  host: 127.0.0.1\n  port: 0\n  trusted_proxies: [127.0.0.1]\n"
            + routes.Replace("BACKEND", backend.Url, StringComparison.Ordinal));
        using var forwarded = new HttpRequestMessage(HttpMethod.Get, "/api");
        forwarded.Headers.TryAddWithoutValidation("X-Forwarded-For", "10.1.2.3");
        Assert.Equal(HttpStatusCode.OK, (await trusted.Client.SendAsync(forwarded)).StatusCode);

        // The client itself, behind the trusted proxy, is outside the whitelist.
        using var outside = new HttpRequestMessage(HttpMethod.Get, "/api");
        outside.Headers.TryAddWithoutValidation("X-Forwarded-For", "192.0.2.1");
        Assert.Equal(HttpStatusCode.Forbidden, (await trusted.Client.SendAsync(outside)).StatusCode);
    }

    [Theory]
    [InlineData("::1.2.3.4", "IPv4-compatible")]
    [InlineData("fe80::1%eth0", "zone")]
    [InlineData("[::1]", "bare address")]
    [InlineData("10.0.0.1 ", null)]
    [InlineData("::ffff:10.0.0.1", null)]
    [InlineData("2001:db8::/32", null)]
    public void Entries_that_would_not_mean_what_they_say_are_errors(string entry, string? problem)
    {
        var result = ConfigLoader.LoadText($"routes:\n  - {{path: /a, mock: {{status: 200}}, ip_filter: {{blacklist: ['{entry}']}}}}\n", "test.yaml", Directory.GetCurrentDirectory());
        if (problem is null)
        {
            Assert.False(result.HasErrors, string.Join('\n', result.Problems));
        }
        else
        {
            Assert.Contains(result.Errors, e => e.Path == "routes[0].ip_filter.blacklist[0]" && e.Message.Contains(problem, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_route_filter_that_lets_in_what_the_global_blacklist_refuses_is_warned_about()
    {
        var result = ConfigLoader.LoadText("""
            ip_filter: {blacklist: [192.0.2.0/24, 198.51.100.0/24]}
            routes:
              - {path: /a, mock: {status: 200}, ip_filter: {blacklist: [192.0.2.0/24]}}
              - {path: /b, mock: {status: 200}, ip_filter: {whitelist: [10.0.0.0/8], default_action: deny}}
              - {path: /c, mock: {status: 200}, ip_filter: {whitelist: [198.51.100.0/28], default_action: deny}}
            """, "test.yaml", Directory.GetCurrentDirectory());
        var warnings = result.Warnings.ToList();
        var reopened = Assert.Single(warnings, w => w.Path == "routes[0].ip_filter");
        Assert.Contains("(198.51.100.0/24)", reopened.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(warnings, w => w.Path == "routes[1].ip_filter");
        Assert.Single(warnings, w => w.Path == "routes[2].ip_filter");
    }

    [Fact]
    public async Task Explain_shows_the_filter_and_its_decision_for_the_client_address()
    {
        var directory = Directory.CreateTempSubdirectory("gateway-ipf-").FullName;
        try
        {
            var config = Path.Combine(directory, "g.yaml");
            File.WriteAllText(config, "routes:\n  - {path: /api, mock: {status: 200}, ip_filter: {whitelist: [10.0.0.0/8], default_action: deny}}\n");
            var (allowed, allowedOut, _) = await GatewayProcess.RunAsync(directory, "explain", config, "GET", "/api", "--client-ip", "10.9.8.7");
            Assert.Equal(0, allowed);
            Assert.Contains("ip_filter(whitelist 1, blacklist 0, default deny)", allowedOut, StringComparison.Ordinal);
            var (_, deniedOut, _) = await GatewayProcess.RunAsync(directory, "explain", config, "GET", "/api", "--client-ip", "192.0.2.1");
            Assert.Contains("403", deniedOut, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
