using System.Buffers.Binary;
using System.Net;
using Gateway.Configuration;
using Gateway.Configuration.Validation;
using Gateway.IpFiltering;

namespace Gateway.Tests.IpFiltering;

/// <summary>Security review of the IP filter: parsing of entries, IPv6 range merging, protocols, reloads, proxies.</summary>
public sealed class IpFilterReviewTests
{
    private static IPNetwork Network(string text) =>
        ValidationRules.TryParseNetwork(text, out var network, out var error) ? network : throw new ArgumentException(error);

    // ---- Entries that validate but do not mean what they say -------------------------------------------------------

    [Theory]
    [InlineData("010.0.0.0/8")]   // .NET reads 010 as octal: 8.0.0.0/8, not 10.0.0.0/8
    [InlineData("010.0.0.1")]     // 8.0.0.1
    [InlineData("0177.0.0.1")]    // 127.0.0.1
    [InlineData("0x7f.1")]        // 127.0.0.1
    [InlineData("0x0a000001")]    // 10.0.0.1
    [InlineData("127.1")]         // 127.0.0.1
    [InlineData("1.2.3")]         // 1.2.0.3, not 1.2.3.0
    [InlineData("4294967295")]    // 255.255.255.255
    [InlineData("10.0.0.01")]     // 10.0.0.1, with a leading zero
    public void A_non_canonical_ipv4_entry_is_an_error_not_an_octal_or_short_form_address(string entry)
    {
        var result = ConfigLoader.LoadText($$$"""
            ip_filter: {blacklist: ["{{{entry}}}"]}
            routes:
              - {path: /a, mock: {status: 200}}
            """, "test.yaml", Directory.GetCurrentDirectory());
        var error = Assert.Single(result.Errors);
        Assert.Equal("ip_filter.blacklist[0]", error.Path);
        Assert.Contains("dotted-decimal", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.1", HttpStatusCode.OK)]
    [InlineData("0x0a000001", HttpStatusCode.Forbidden)]   // IPAddress reads 10.0.0.1
    [InlineData("012.0.0.1", HttpStatusCode.Forbidden)]    // octal 10.0.0.1
    [InlineData("10.1", HttpStatusCode.Forbidden)]         // 10.0.0.1
    [InlineData("167772161", HttpStatusCode.Forbidden)]    // 10.0.0.1
    [InlineData("fe80::1%eth0", HttpStatusCode.Forbidden)]
    public async Task A_forwarded_address_in_a_short_or_odd_form_is_garbage_like_in_config(string forwarded, HttpStatusCode expected)
    {
        await using var gateway = await TestGateway.StartAsync("""
            server: {host: 127.0.0.1, port: 0, trusted_proxies: [127.0.0.1]}
            routes:
              - {path: /internal, mock: {status: 200}, ip_filter: {whitelist: [10.0.0.0/8, "fe80::/10"], default_action: deny}}
            """);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/internal");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwarded);
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    // ---- The warning about a route reopening the global blacklist uses the filter's own IPv4/IPv6 semantics ----------

    [Fact]
    public void A_route_whitelist_of_all_ipv6_is_warned_about_exactly_when_the_filter_lets_the_global_ipv4_blacklist_in()
    {
        // Whichever meaning ::/0 has for IPv4 clients, the warning must say what the filter does.
        var result = ConfigLoader.LoadText("""
            ip_filter: {blacklist: [192.0.2.0/24]}
            routes:
              - {path: /a, mock: {status: 200}, ip_filter: {whitelist: ["::/0"], default_action: deny}}
            """, "test.yaml", Directory.GetCurrentDirectory());
        var reopens = IpRangeSet.Build([Network("::/0")]).Contains(IPAddress.Parse("192.0.2.1"));
        Assert.Equal(reopens, result.Warnings.Any(w => w.Path == "routes[0].ip_filter"));
    }

    [Fact]
    public void A_route_blacklist_that_holds_a_global_ipv4_mapped_entry_as_ipv4_is_not_warned_about()
    {
        var result = ConfigLoader.LoadText("""
            ip_filter: {blacklist: ["::ffff:192.0.2.0/120"]}
            routes:
              - {path: /a, mock: {status: 200}, ip_filter: {blacklist: [192.0.2.0/24]}}
            """, "test.yaml", Directory.GetCurrentDirectory());
        Assert.DoesNotContain(result.Warnings, w => w.Path == "routes[0].ip_filter");
    }

    // ---- A trusted proxy written as IPv4-mapped IPv6 (as the IP filter lists accept it) ------------------------------

    [Fact]
    public async Task A_trusted_proxy_written_as_ipv4_mapped_is_the_ipv4_peer_so_a_proxied_client_is_not_taken_for_the_proxy()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, trusted_proxies: ["::ffff:127.0.0.1"]}
            routes:
              - {path: /internal, backend: "{{{backend.Url}}}", ip_filter: {whitelist: [127.0.0.0/8], default_action: deny}}
            """);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/internal");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "192.0.2.1");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(0, backend.Requests);
    }

    // ---- Range merging against a naive check, IPv6 and IPv4 together ------------------------------------------------

    [Fact]
    public void An_ipv6_and_ipv4_set_answers_like_checking_every_network_in_turn()
    {
        var random = new Random(4321);
        UInt128[] anchors =
        [
            UInt128.Zero, (UInt128)0xFFFF << 32, ((UInt128)0x2001_0db8 << 96), UInt128.MaxValue, (UInt128)1,
            ((UInt128)0xFFFF << 32) | 0x0A00_0000, ((UInt128)0xFE80 << 112),
        ];
        for (var round = 0; round < 40; round++)
        {
            var networks = new List<IPNetwork>();
            var count = random.Next(1, 60);
            for (var i = 0; i < count; i++)
            {
                var kind = random.Next(4);
                if (kind == 0)
                {
                    var prefix = random.Next(0, 33);
                    networks.Add(new IPNetwork(V4(MaskV4((uint)random.NextInt64(0, 1L << 32), prefix)), prefix));
                }
                else
                {
                    var prefix = kind == 1 ? random.Next(0, 129) : random.Next(90, 129);
                    var start = anchors[random.Next(anchors.Length)] + (UInt128)(ulong)random.NextInt64(-4, 1L << 34);
                    networks.Add(new IPNetwork(V6(MaskV6(start, prefix)), prefix));
                }
            }

            var set = IpRangeSet.Build(networks);
            for (var probe = 0; probe < 2000; probe++)
            {
                var address = Probe(random, networks, anchors);
                Assert.True(Naive(networks, address) == set.Contains(address), $"round {round}: {address} in [{string.Join(", ", networks)}]");
            }
        }
    }

    /// <summary>
    /// The documented semantics, one network at a time: IPv4 (and IPv4-mapped IPv6) addresses in IPv4 networks and in
    /// IPv4-mapped networks of /96 or longer; other IPv6 addresses in IPv6 networks.
    /// </summary>
    private static bool Naive(List<IPNetwork> networks, IPAddress address)
    {
        var v4 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || address.IsIPv4MappedToIPv6;
        var value = AsV6(address);
        foreach (var network in networks)
        {
            var mapped = network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                || (network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96);
            if (mapped != v4)
            {
                continue;
            }

            var start = AsV6(network.BaseAddress);
            var prefix = network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? network.PrefixLength + 96 : network.PrefixLength;
            if (prefix == 0 || (value ^ start) >> (128 - prefix) == UInt128.Zero)
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress Probe(Random random, List<IPNetwork> networks, UInt128[] anchors)
    {
        var network = networks[random.Next(networks.Count)];
        var v4 = network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        switch (random.Next(5))
        {
            case 0:
                // Just before, at, and just after a network's start or its end.
                var start = AsV6(network.BaseAddress);
                var prefix = v4 ? network.PrefixLength + 96 : network.PrefixLength;
                var end = prefix == 0 ? UInt128.MaxValue : start | ((UInt128.One << (128 - prefix)) - 1);
                var edge = (random.Next(2) == 0 ? start : end) + (UInt128)(ulong)random.Next(0, 3) - UInt128.One;
                return FromV6(edge, asV4: v4 && random.Next(2) == 0);
            case 1:
                return V4((uint)random.NextInt64(0, 1L << 32));
            case 2:
                return random.Next(2) == 0 ? IPAddress.Parse("255.255.255.255") : IPAddress.Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
            default:
                return V6(anchors[random.Next(anchors.Length)] + (UInt128)(ulong)random.NextInt64(-4, 1L << 34));
        }
    }

    private static UInt128 AsV6(IPAddress address)
    {
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        }

        return BinaryPrimitives.ReadUInt128BigEndian(address.GetAddressBytes());
    }

    private static IPAddress FromV6(UInt128 value, bool asV4)
    {
        var address = V6(value);
        return asV4 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    private static IPAddress V4(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    private static IPAddress V6(UInt128 value)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    private static uint MaskV4(uint value, int prefix) => prefix == 0 ? 0 : value & (uint.MaxValue << (32 - prefix));

    private static UInt128 MaskV6(UInt128 value, int prefix) => prefix == 0 ? UInt128.Zero : value & (UInt128.MaxValue << (128 - prefix));

    [Fact]
    public void A_lookup_allocates_nothing()
    {
        var set = IpRangeSet.Build(Enumerable.Range(0, 500).Select(i => Network($"10.{i / 256}.{i % 256}.0/24")).Append(Network("2001:db8::/32")));
        var addresses = new[] { IPAddress.Parse("10.1.2.3"), IPAddress.Parse("192.0.2.1"), IPAddress.Parse("2001:db8::1"), IPAddress.Parse("fe80::1") };
        var hits = 0;
        foreach (var address in addresses)
        {
            hits += set.Contains(address) ? 1 : 0;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            hits += set.Contains(addresses[i & 3]) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(hits > 0);
    }

    // ---- Protocols and request forms: the filter sees the same address -----------------------------------------------

    [Fact]
    public async Task Http_1_0_and_absolute_form_targets_are_filtered_like_any_request()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /api, backend: "{{{backend.Url}}}", ip_filter: {whitelist: [10.0.0.0/8], default_action: deny}}
              - {path: /mock, mock: {status: 200, body: ok}, ip_filter: {blacklist: ["::ffff:127.0.0.0/104"]}}
            """);
        foreach (var request in new[]
        {
            "GET /api HTTP/1.0\r\n\r\n",
            "GET http://10.0.0.1/api HTTP/1.1\r\nHost: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.1\r\nX-Real-IP: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nConnection: close\r\n\r\n",
            "GET http://[::ffff:10.0.0.1]:80/api HTTP/1.0\r\nForwarded: for=\"[::ffff:10.0.0.1]:80\"\r\n\r\n",
            "HEAD /mock HTTP/1.0\r\n\r\n",
            "GET http://x/mock HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        })
        {
            var answer = await gateway.SendRawAsync(request);
            Assert.StartsWith("HTTP/1.1 403", answer, StringComparison.Ordinal);
        }

        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task Http2_prior_knowledge_is_filtered_on_the_same_address()
    {
        await using var gateway = await TestGateway.StartAsync("""
            server: {host: 127.0.0.1, port: 0, http2: true, trusted_proxies: [10.0.0.0/8]}
            routes:
              - {path: /deny, mock: {status: 200}, ip_filter: {blacklist: [127.0.0.1]}}
              - {path: /allow, mock: {status: 200}, ip_filter: {whitelist: [127.0.0.1], default_action: deny}}
            """);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{gateway.Port}"),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var denied = new HttpRequestMessage(HttpMethod.Get, "/deny") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        denied.Headers.TryAddWithoutValidation("X-Forwarded-For", "10.9.9.9");
        using var deniedResponse = await client.SendAsync(denied);
        Assert.Equal(HttpVersion.Version20, deniedResponse.Version);
        Assert.Equal(HttpStatusCode.Forbidden, deniedResponse.StatusCode);
        using var allowed = await client.GetAsync("/allow");
        Assert.Equal(HttpVersion.Version20, allowed.Version);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    // ---- Reload --------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_reload_that_changes_the_global_filter_applies_to_every_route_at_once()
    {
        var directory = Directory.CreateTempSubdirectory("gateway-ipreload-").FullName;
        var path = Path.Combine(directory, "g.yaml");
        const string head = "server: {host: 127.0.0.1, port: 0}\nadmin: {host: 127.0.0.1, port: 0}\n";
        const string routes = "routes:\n  - {path: /a, mock: {status: 200}}\n  - {path: /b, mock: {status: 200}}\n";
        try
        {
            await File.WriteAllTextAsync(path, head + "ip_filter: {blacklist: [127.0.0.1]}\n" + routes);
            await using var gateway = await TestGateway.StartFromFileAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.GetAsync("/a")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.GetAsync("/b")).StatusCode);

            await File.WriteAllTextAsync(path, head + "ip_filter: {blacklist: [192.0.2.1]}\n" + routes);
            Assert.True(gateway.Host.Reload("test").Applied);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/a")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/b")).StatusCode);

            await File.WriteAllTextAsync(path, head + "ip_filter: {default_action: deny}\n" + routes);
            Assert.True(gateway.Host.Reload("test").Applied);
            Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.GetAsync("/b")).StatusCode);

            // A reload that fails validation keeps the filter that is live.
            await File.WriteAllTextAsync(path, head + "ip_filter: {whitelist: [10.0.0.1/8]}\n" + routes);
            Assert.False(gateway.Host.Reload("test").Applied);
            Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.GetAsync("/a")).StatusCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
