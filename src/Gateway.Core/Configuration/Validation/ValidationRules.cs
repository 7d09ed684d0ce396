using System.Net;
using System.Text.RegularExpressions;

namespace Gateway.Configuration.Validation;

/// <summary>Checks shared by the validators; each reports into the diagnostics and never throws.</summary>
internal static class ValidationRules
{
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);

    private static readonly HashSet<string> StandardMethods = new(StringComparer.Ordinal)
    {
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    };

    /// <summary>Durations and counts beyond this are mistakes (and would overflow time arithmetic).</summary>
    public const double MaxValue = 1_000_000_000;

    /// <summary>A block that may be set globally (<paramref name="key"/>) and per route (the route's block replaces it): checks each one set.</summary>
    public static void GlobalAndPerRoute<T>(ConfigDiagnostics d, GatewayConfig config, string key, T? global, Func<RouteConfig, T?> ofRoute, Action<ConfigDiagnostics, string, T> check)
        where T : class
    {
        if (global is not null)
        {
            check(d, key, global);
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (ofRoute(config.Routes[i]) is { } block)
            {
                check(d, $"routes[{i}].{key}", block);
            }
        }
    }

    public static void Positive(ConfigDiagnostics d, string path, double value)
    {
        if (!(value > 0))
        {
            d.Error(path, $"must be greater than 0 (got {value})");
        }
        else if (value > MaxValue)
        {
            d.Error(path, $"must be at most {MaxValue:0} (got {value})");
        }
    }

    /// <summary>Longest timeout accepted: timers cannot wait longer than about 24 days.</summary>
    public const double MaxTimeoutSecs = 2_000_000;

    public static void Timeout(ConfigDiagnostics d, string path, double? value)
    {
        if (value is not double v)
        {
            return;
        }

        if (!(v > 0) || v > MaxTimeoutSecs)
        {
            d.Error(path, $"must be a number of seconds between 0 and {MaxTimeoutSecs:0} (got {v})");
        }
    }

    public static void Positive(ConfigDiagnostics d, string path, double? value)
    {
        if (value is double v)
        {
            Positive(d, path, v);
        }
    }

    public static void NotNegative(ConfigDiagnostics d, string path, double value)
    {
        if (value < 0)
        {
            d.Error(path, $"must not be negative (got {value})");
        }
        else if (value > MaxValue)
        {
            d.Error(path, $"must be at most {MaxValue:0} (got {value})");
        }
    }

    public static void InRange(ConfigDiagnostics d, string path, double value, double min, double max)
    {
        if (value < min || value > max)
        {
            d.Error(path, $"must be between {min} and {max} (got {value})");
        }
    }

    public static void Port(ConfigDiagnostics d, string path, int port)
    {
        if (port is < 0 or > 65535)
        {
            d.Error(path, $"must be a port between 1 and 65535, or 0 for any free port (got {port})");
        }
    }

    public static void StatusCode(ConfigDiagnostics d, string path, int status)
    {
        if (status is < 100 or > 599)
        {
            d.Error(path, $"must be an HTTP status code between 100 and 599 (got {status})");
        }
    }

    public static void OneOf(ConfigDiagnostics d, string path, string? value, params string[] allowed)
    {
        if (value is null || Array.IndexOf(allowed, value) >= 0)
        {
            return;
        }

        var suggestion = YamlBinder.Suggest(value, allowed);
        var hint = suggestion is null ? "" : $"; did you mean '{suggestion}'?";
        d.Error(path, $"'{value}' is not one of: {string.Join(", ", allowed)}{hint}");
    }

    /// <summary>An absolute http(s) URL with a host, no query, fragment or credentials.</summary>
    public static bool HttpUrl(ConfigDiagnostics d, string path, string? value, bool allowPath = true)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            d.Error(path, "must be an absolute http(s) URL");
            return false;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            d.Error(path, $"must be an absolute http(s) URL, like http://127.0.0.1:3000 (got '{value}')");
            return false;
        }

        if (uri.UserInfo.Length > 0)
        {
            d.Error(path, "must not carry credentials in the URL");
            return false;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            d.Error(path, "must not have a query or fragment");
            return false;
        }

        if (!allowPath && uri.AbsolutePath != "/")
        {
            d.Error(path, "must not have a path");
            return false;
        }

        return true;
    }

    /// <summary>A <c>redis</c> block, wherever it is used (<paramref name="path"/> names the block).</summary>
    public static void Redis(ConfigDiagnostics d, string path, RedisConfig redis)
    {
        RedisUrl(d, path + ".url", redis.Url);
        if (redis.TimeoutMs is int timeout)
        {
            InRange(d, path + ".timeout_ms", timeout, 1, 10_000);
        }

        if (redis.StartupWaitSecs is double wait)
        {
            InRange(d, path + ".startup_wait_secs", wait, 0, 300);
        }
    }

    public static void RedisUrl(ConfigDiagnostics d, string path, string? value)
    {
        // Never echo the value: a Redis URL may carry a password.
        if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "redis" && uri.Scheme != "rediss") || uri.Host.Length == 0)
        {
            d.Error(path, "must be a Redis URL like redis://HOST:6379 or rediss://HOST:6380");
        }
    }

    /// <summary>An IP address or a CIDR block (IPv4 or IPv6) with no host bits set.</summary>
    public static bool Network(ConfigDiagnostics d, string path, string value)
    {
        if (TryParseNetwork(value, out _, out var error))
        {
            return true;
        }

        d.Error(path, error!);
        return false;
    }

    public static bool TryParseNetwork(string value, out IPNetwork network, out string? error)
    {
        error = null;
        var text = value.Trim();
        var addressPart = text.Contains('/', StringComparison.Ordinal) ? text[..text.IndexOf('/', StringComparison.Ordinal)] : text;
        if (UnusualAddress(addressPart) is { } unusual)
        {
            network = default;
            error = $"'{value}' {unusual}";
            return false;
        }

        if (!text.Contains('/', StringComparison.Ordinal))
        {
            if (IPAddress.TryParse(text, out var address))
            {
                network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
                return true;
            }

            network = default;
            error = $"'{value}' is not an IP address or CIDR block";
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (IPNetwork.TryParse(text, out network) && IPAddress.TryParse(text[..slash], out var given) && given.Equals(network.BaseAddress))
        {
            return true;
        }

        if (IPAddress.TryParse(text[..slash], out var baseAddress) && int.TryParse(text[(slash + 1)..], out var prefix)
            && prefix >= 0 && prefix <= (baseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
        {
            var masked = new IPNetwork(Mask(baseAddress, prefix), prefix);
            error = $"'{value}' has bits set beyond the /{prefix} prefix; did you mean '{masked}'?";
        }
        else
        {
            error = $"'{value}' is not a valid CIDR block";
        }

        return false;
    }

    /// <summary>
    /// Why an address that the platform's parser reads is still refused in a list, or null: old IPv4 notations that
    /// read as other addresses than they seem (<c>010.0.0.1</c> is 8.0.0.1 to it, <c>1.2.3</c> is 1.2.0.3), IPv4-compatible
    /// IPv6, zones, brackets and ports.
    /// </summary>
    private static string? UnusualAddress(string text)
    {
        if (text.Contains('%', StringComparison.Ordinal))
        {
            return "has a zone (%...): write the address alone";
        }

        if (text.StartsWith('[') || (!text.Contains(':', StringComparison.Ordinal) && text.Contains(' ', StringComparison.Ordinal)))
        {
            return "is not written as a bare address (no brackets, ports or spaces)";
        }

        if (!text.Contains(':', StringComparison.Ordinal))
        {
            // IPv4: four decimal numbers of 0-255, without leading zeros, as every other tool writes them.
            var parts = text.Split('.');
            if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0') || int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) > 255))
            {
                return IPAddress.TryParse(text, out var read)
                    ? $"is not in dotted-decimal form (it would read as {read}); write four numbers of 0-255 without leading zeros"
                    : null;
            }

            return null;
        }

        if (IPAddress.TryParse(text, out var v6) && text.Contains('.', StringComparison.Ordinal) && !v6.IsIPv4MappedToIPv6)
        {
            return "is an IPv4-compatible IPv6 address (deprecated, and no IPv4 client has it); write the IPv4 address, or ::ffff:a.b.c.d";
        }

        return null;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var bits = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }

        return new IPAddress(bytes);
    }

    public static Regex? CompileRegex(ConfigDiagnostics d, string path, string? pattern, bool fullMatch)
    {
        if (pattern is null)
        {
            return null;
        }

        try
        {
            var text = fullMatch ? $"^(?:{pattern})$" : pattern;
            return new Regex(text, RegexOptions.CultureInvariant | RegexOptions.Compiled, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            d.Error(path, $"regex does not compile: {e.Message}");
            return null;
        }
    }

    public static void HeaderName(ConfigDiagnostics d, string path, string name)
    {
        if (!IsToken(name))
        {
            d.Error(path, $"'{name}' is not a valid header name");
        }
    }

    /// <summary>Visible ASCII and space (and tab, when <paramref name="tab"/>): what every sender and both codecs write as it is.</summary>
    public static bool IsPrintableAscii(ReadOnlySpan<char> value, bool tab = true)
    {
        foreach (var c in value)
        {
            if (c is not ((>= ' ' and <= '~') or '\t') || (c == '\t' && !tab))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A header value written in config: printable ASCII, space and tab (what every sender and codec writes as it is).</summary>
    public static void HeaderValue(ConfigDiagnostics d, string path, string value)
    {
        foreach (var c in value)
        {
            if (c is '\r' or '\n' or '\0')
            {
                d.Error(path, "a header value must not contain CR, LF or NUL");
                return;
            }

            if (c is not ((>= ' ' and <= '~') or '\t'))
            {
                d.Error(path, char.IsControl(c)
                    ? $"a header value must not contain control characters (U+{(int)c:X4})"
                    : $"a header value must be printable ASCII: '{c}' (U+{(int)c:X4}) is not sent the same way by every client and server");
                return;
            }
        }
    }

    public static string? Method(ConfigDiagnostics d, string path, string method)
    {
        if (!IsToken(method))
        {
            d.Error(path, $"'{method}' is not a valid HTTP method");
            return null;
        }

        var upper = method.ToUpperInvariant();
        if (!StandardMethods.Contains(upper) && method != upper)
        {
            d.Warning(path, $"'{method}' is not a standard method; methods are matched case-sensitively");
            return method;
        }

        return upper;
    }

    /// <summary>The characters of an HTTP token (RFC 9110 section 5.6.2): what a method or a header name is made of.</summary>
    private static readonly System.Buffers.SearchValues<char> TokenCharacters =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>An HTTP token: in config (header names, methods) and in requests (what a CORS preflight asks for).</summary>
    public static bool IsToken(ReadOnlySpan<char> value) => value.Length > 0 && !value.ContainsAnyExcept(TokenCharacters);

    public static void FileExists(ConfigDiagnostics d, string path, string? file, string baseDirectory)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            d.Error(path, "must name a file");
            return;
        }

        var full = Path.IsPathRooted(file) ? file : Path.GetFullPath(Path.Combine(baseDirectory, file));
        if (!File.Exists(full))
        {
            d.Error(path, $"file '{file}' does not exist (looked at {full})");
        }
    }
}
