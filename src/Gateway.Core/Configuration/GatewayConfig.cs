using System.Reflection;

namespace Gateway.Configuration;

// The configuration schema: its core here, each feature's keys in that feature's folder (partial records).
// Key names are the snake_case form of the property names; defaults are written once, next to the key. Blocks that may be absent are nullable so that "not configured" and
// "configured with defaults" stay distinguishable (a route's own `cors` replaces the global one).

/// <summary>The whole configuration file.</summary>
internal sealed partial record GatewayConfig
{
    public ServerConfig Server { get; init; } = new();
    public List<RouteConfig> Routes { get; init; } = [];
    public long? MaxRequestSize { get; init; }
    public AdminConfig Admin { get; init; } = new();
    public LoggingConfig Logging { get; init; } = new();
}

/// <summary>The public listener.</summary>
internal sealed record ServerConfig
{
    public string Host { get; init; } = "0.0.0.0";
    public int Port { get; init; } = 8080;
    public double TimeoutSecs { get; init; } = 30;
    public double ConnectTimeoutSecs { get; init; } = 5;
    public List<string> TrustedProxies { get; init; } = [];

    /// <summary>Headers about the client's address and URL (X-Real-IP, X-Forwarded-Prefix and kin; see the README): kept only from trusted proxies.</summary>
    public List<string>? ProxyOnlyHeaders { get; init; }
    public bool? Http2 { get; init; }

    /// <summary>Who serves HTTP/1.1: <c>native</c> (the gateway's own codec on Kestrel's transport) or <c>kestrel</c>.</summary>
    [KnownValues("native", "kestrel")] public string Http1Codec { get; init; } = "native";
    public LimitsConfig Limits { get; init; } = new();
    public double ShutdownTimeoutSecs { get; init; } = 30;
}

/// <summary>Limits on what a client may send.</summary>
internal sealed record LimitsConfig
{
    public int MaxHeaderBytes { get; init; } = 32 * 1024;
    public int MaxHeaders { get; init; } = 100;
    public int MaxUriBytes { get; init; } = 8 * 1024;
    public double RequestHeaderTimeoutSecs { get; init; } = 30;
    public double KeepAliveTimeoutSecs { get; init; } = 130;
}

/// <summary>One route: a path pattern, conditions, a backend (or a mock) and its policies.</summary>
internal sealed partial record RouteConfig
{
    public string? Id { get; init; }
    public string Path { get; init; } = "";
    public string? Backend { get; init; }
    public List<BackendConfig>? Backends { get; init; }
    public MockConfig? Mock { get; init; }
    public List<string>? Methods { get; init; }
    public bool StripPrefix { get; init; }
    public string? Description { get; init; }
    public List<string>? Hosts { get; init; }
    public Dictionary<string, MatchCondition>? Headers { get; init; }
    public Dictionary<string, MatchCondition>? Query { get; init; }
    public int Priority { get; init; }
    public double? TimeoutSecs { get; init; }
    public bool PreserveHost { get; init; }
    public bool AllowEncodedSlashes { get; init; }
    [KnownValues("http1", "http2", "h2c")] public string? BackendProtocol { get; init; }
}

/// <summary>One upstream server of a route.</summary>
internal sealed record BackendConfig
{
    public string Url { get; init; } = "";
    public int Weight { get; init; } = 1;
}

/// <summary>A direct answer instead of a backend.</summary>
internal sealed record MockConfig
{
    public int Status { get; init; } = 200;
    public Dictionary<string, string> Headers { get; init; } = [];
    public string? Body { get; init; }
}

/// <summary>A header or query condition: an exact value, a regex, or mere presence.</summary>
[ScalarForm(nameof(Exact))]
internal sealed record MatchCondition
{
    public string? Exact { get; init; }
    public string? Regex { get; init; }
    public bool? Present { get; init; }
}

internal sealed record RedisConfig
{
    [Secret] public string Url { get; init; } = "";
    public string? Prefix { get; init; }

    /// <summary>How long one Redis call may take before the gateway gives up on it (default depends on the use).</summary>
    public int? TimeoutMs { get; init; }

    /// <summary>How long start-up waits to reach Redis before the gateway reports ready anyway (default 5).</summary>
    public double? StartupWaitSecs { get; init; }
}

internal sealed record AdminConfig
{
    public bool Enabled { get; init; } = true;
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 9901;
    [Secret] public string? Token { get; init; }
    public string? Persist { get; init; }
}

internal sealed partial record LoggingConfig
{
    [KnownValues("trace", "debug", "info", "warn", "error", "critical", "none")] public string Level { get; init; } = "info";
    [KnownValues("json", "text")] public string Format { get; init; } = "json";
    public bool AccessLog { get; init; } = true;
    public LogSampleConfig? Sample { get; init; }
}

internal sealed record LogSampleConfig
{
    public double SuccessRatio { get; init; } = 1.0;
}

/// <summary>A value written either as one string or as a list of strings.</summary>
internal sealed record StringList(IReadOnlyList<string> Values);

/// <summary>Marks a key whose value is a secret: redacted wherever the config is shown.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SecretAttribute : Attribute;

/// <summary>Another accepted spelling of a key (kept for configs of the earlier gateway).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ConfigAliasAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// The only values a string key (or each item of a list of strings) may take. The feature's validator checks them
/// (<see cref="Of{T}(string)"/>) and the schema lists them, both from this one place.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class KnownValuesAttribute(params string[] values) : Attribute
{
    public IReadOnlyList<string> Values { get; } = values;

    /// <summary>The values declared on the property <paramref name="property"/> of <typeparamref name="T"/>.</summary>
    public static string[] Of<T>(string property) =>
        [.. typeof(T).GetProperty(property)?.GetCustomAttribute<KnownValuesAttribute>()?.Values
            ?? throw new InvalidOperationException($"{typeof(T).Name}.{property} declares no known values")];
}

/// <summary>A record that may also be written as one scalar, which sets the named property.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class ScalarFormAttribute(string property) : Attribute
{
    public string Property { get; } = property;
}
