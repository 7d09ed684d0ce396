namespace Gateway.Configuration;

// The configuration schema. Key names are the snake_case form of the property names; defaults are
// written once, next to the key. Blocks that may be absent are nullable so that "not configured" and
// "configured with defaults" stay distinguishable (a route's own `cors` replaces the global one).

/// <summary>The whole configuration file.</summary>
internal sealed record GatewayConfig
{
    public ServerConfig Server { get; init; } = new();
    public List<RouteConfig> Routes { get; init; } = [];
    public AuthConfig? Auth { get; init; }
    public RateLimitingConfig? RateLimiting { get; init; }
    public CircuitBreakerConfig? CircuitBreaker { get; init; }
    public RetryConfig? Retry { get; init; }
    public ObservabilityConfig? Observability { get; init; }
    public HotReloadConfig? HotReload { get; init; }
    public CorsConfig? Cors { get; init; }
    public IpFilterConfig? IpFilter { get; init; }
    public CacheConfig? Cache { get; init; }
    public long? MaxRequestSize { get; init; }
    public TlsConfig? Tls { get; init; }
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
    public bool? Http2 { get; init; }
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
internal sealed record RouteConfig
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
    public LoadBalancerConfig? LoadBalancer { get; init; }
    public HealthCheckConfig? HealthCheck { get; init; }
    public RouteAuthConfig? Auth { get; init; }
    public List<RateLimitRule>? RateLimit { get; init; }
    public TransformConfig? Transform { get; init; }
    public CorsConfig? Cors { get; init; }
    public IpFilterConfig? IpFilter { get; init; }
    public CacheConfig? Cache { get; init; }
    public RetryConfig? Retry { get; init; }
    public CircuitBreakerConfig? CircuitBreaker { get; init; }
    public string? BackendProtocol { get; init; }
    public WebSocketConfig? Websocket { get; init; }
    public SloConfig? Slo { get; init; }
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

internal sealed record LoadBalancerConfig
{
    public string Strategy { get; init; } = "round_robin";
    public string? HashOn { get; init; }
}

internal sealed record HealthCheckConfig
{
    public bool Enabled { get; init; }
    public double IntervalSecs { get; init; } = 10;
    public double TimeoutSecs { get; init; } = 5;
    public int UnhealthyThreshold { get; init; } = 3;
    public int HealthyThreshold { get; init; } = 2;
    public string Path { get; init; } = "/health";
    public int ExpectedStatus { get; init; } = 200;
    public bool PassiveEnabled { get; init; }

    /// <summary>How long a backend ejected by passive checks stays out before it gets traffic again.</summary>
    public double EjectionSecs { get; init; } = 30;

    public bool PanicMode { get; init; }
}

internal sealed record RouteAuthConfig
{
    public bool Required { get; init; }
    public List<string> Methods { get; init; } = [];
    public List<string>? Scopes { get; init; }
    public List<string>? Roles { get; init; }
    public Dictionary<string, StringList>? Claims { get; init; }
    public bool ForwardAuthorization { get; init; } = true;
    public string? TokenCookie { get; init; }
    public string? TokenQuery { get; init; }
}

internal sealed record RateLimitRule
{
    public string Dimension { get; init; } = "";
    public long Requests { get; init; }
    public double WindowSecs { get; init; }
    public long? Burst { get; init; }
}

internal sealed record TransformConfig
{
    public RequestTransformConfig? Request { get; init; }
    public ResponseTransformConfig? Response { get; init; }
}

internal sealed record RequestTransformConfig
{
    public Dictionary<string, string>? AddHeaders { get; init; }
    public Dictionary<string, string>? SetHeaders { get; init; }
    public List<string>? RemoveHeaders { get; init; }
    public List<PathRewriteConfig>? PathRewrites { get; init; }
    public QueryParamsConfig? QueryParams { get; init; }
}

internal sealed record ResponseTransformConfig
{
    public Dictionary<string, string>? AddHeaders { get; init; }
    public Dictionary<string, string>? SetHeaders { get; init; }
    public List<string>? RemoveHeaders { get; init; }
}

internal sealed record PathRewriteConfig
{
    public string Pattern { get; init; } = "";
    public string Replacement { get; init; } = "";
}

internal sealed record QueryParamsConfig
{
    public Dictionary<string, string>? Add { get; init; }
    public Dictionary<string, string>? Set { get; init; }
    public List<string>? Remove { get; init; }
}

internal sealed record CorsConfig
{
    public List<string> AllowedOrigins { get; init; } = [];
    public List<string> AllowedMethods { get; init; } = [];
    public List<string> AllowedHeaders { get; init; } = [];
    public List<string> ExposedHeaders { get; init; } = [];
    public bool AllowCredentials { get; init; }
    public int? MaxAgeSecs { get; init; }
}

internal sealed record IpFilterConfig
{
    public List<string> Whitelist { get; init; } = [];
    public List<string> Blacklist { get; init; } = [];
    public string DefaultAction { get; init; } = "allow";
}

internal sealed record CacheConfig
{
    public bool Enabled { get; init; }
    public int MaxCapacity { get; init; } = 1000;
    public double TtlSecs { get; init; } = 300;
    public List<string> CacheableMethods { get; init; } = ["GET", "HEAD"];
    public List<int> CacheableStatusCodes { get; init; } = [200];
    public List<string> KeyHeaders { get; init; } = [];
    public bool CacheWithCookies { get; init; }
    public bool Shared { get; init; }
    public RedisConfig? Redis { get; init; }
}

internal sealed record AuthConfig
{
    public JwtConfig? Jwt { get; init; }
    public ApiKeyConfig? ApiKey { get; init; }

    /// <summary>Headers set on the upstream request from the identity: header name to source.</summary>
    public Dictionary<string, string>? IdentityHeaders { get; init; }
}

internal sealed record JwtConfig
{
    [Secret] public string? Secret { get; init; }
    public string? PublicKey { get; init; }
    public string Algorithm { get; init; } = "HS256";
    public string? Issuer { get; init; }
    public StringList? Audience { get; init; }
    public string? JwksUrl { get; init; }
    public string? OidcIssuer { get; init; }
    public double ClockSkewSecs { get; init; } = 30;
    public List<string>? RequiredClaims { get; init; }
    public string RolesClaim { get; init; } = "roles";
}

internal sealed record ApiKeyConfig
{
    public string Header { get; init; } = "X-API-Key";
    [Secret] public Dictionary<string, ApiKeyEntry> Keys { get; init; } = [];
    public RedisConfig? Redis { get; init; }
    public double CacheSecs { get; init; } = 5;
}

/// <summary>What the gateway knows about an API key: written as just its name, or with roles and a tier.</summary>
[ScalarForm(nameof(Name))]
internal sealed record ApiKeyEntry
{
    public string Name { get; init; } = "";
    public List<string> Roles { get; init; } = [];
    public string? Tier { get; init; }
}

internal sealed record RedisConfig
{
    [Secret] public string Url { get; init; } = "";
    public string? Prefix { get; init; }

    /// <summary>How long one Redis call may take before the gateway gives up on it (default depends on the use).</summary>
    public int? TimeoutMs { get; init; }
}

internal sealed record RateLimitingConfig
{
    public bool Enabled { get; init; } = true;

    /// <summary>The algorithm of the Redis limiter (the earlier gateway's key).</summary>
    public string Algorithm { get; init; } = "sliding_window";

    /// <summary>The algorithm without Redis (and of the fallback while Redis is away).</summary>
    public string LocalAlgorithm { get; init; } = "token_bucket";

    public List<RateLimitRule> Global { get; init; } = [];
    public RedisConfig? Redis { get; init; }
    public string FailureMode { get; init; } = "open";

    /// <summary>Most client keys tracked in memory per limit; beyond it idle ones are dropped first.</summary>
    public int MaxKeys { get; init; } = 100_000;
}

internal sealed record CircuitBreakerConfig
{
    public int FailureThreshold { get; init; } = 5;
    public int SuccessThreshold { get; init; } = 2;
    public double TimeoutSecs { get; init; } = 60;
    [ConfigAlias("half_open_max_requests")] public int HalfOpenRequests { get; init; } = 3;
    public double? RequestTimeoutSecs { get; init; }
}

internal sealed record RetryConfig
{
    public int MaxRetries { get; init; } = 3;
    public int InitialBackoffMs { get; init; } = 100;
    public int MaxBackoffMs { get; init; } = 5000;
    public double BackoffMultiplier { get; init; } = 2;

    /// <summary>Retries allowed as a share of requests (over the last 10 s), so retries cannot multiply an outage.</summary>
    public double BudgetRatio { get; init; } = 0.2;
}

internal sealed record ObservabilityConfig
{
    public MetricsConfig? Metrics { get; init; }
    public TracingConfig? Tracing { get; init; }
}

internal sealed record MetricsConfig
{
    public bool Enabled { get; init; }
    public string Path { get; init; } = "/metrics";
}

internal sealed record TracingConfig
{
    public bool Enabled { get; init; }
    public string? OtlpEndpoint { get; init; }
    public string ServiceName { get; init; } = "gateway";
    public string? ServiceVersion { get; init; }
    public double SampleRate { get; init; } = 1.0;
}

internal sealed record HotReloadConfig
{
    public bool Enabled { get; init; }
    public int DebounceMs { get; init; } = 500;
}

internal sealed record TlsConfig
{
    public string? CertPath { get; init; }
    public string? KeyPath { get; init; }
    public bool EnableMtls { get; init; }
    public string? CaCertPath { get; init; }
    public bool RequireClientCert { get; init; }
    public List<TlsCertificateConfig>? Certificates { get; init; }
}

internal sealed record TlsCertificateConfig
{
    public List<string> Hosts { get; init; } = [];
    public string CertPath { get; init; } = "";
    public string KeyPath { get; init; } = "";
}

internal sealed record AdminConfig
{
    public bool Enabled { get; init; } = true;
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 9901;
    [Secret] public string? Token { get; init; }
    public string? Persist { get; init; }
}

internal sealed record LoggingConfig
{
    public string Level { get; init; } = "info";
    public string Format { get; init; } = "json";
    public bool AccessLog { get; init; } = true;
    public LogSampleConfig? Sample { get; init; }
}

internal sealed record LogSampleConfig
{
    public double SuccessRatio { get; init; } = 1.0;
}

internal sealed record WebSocketConfig
{
    public double? IdleTimeoutSecs { get; init; }
    public double? MaxLifetimeSecs { get; init; }
}

internal sealed record SloConfig
{
    public double LatencyMs { get; init; }
    public double Target { get; init; }
}

/// <summary>A value written either as one string or as a list of strings.</summary>
internal sealed record StringList(IReadOnlyList<string> Values);

/// <summary>Marks a key whose value is a secret: redacted wherever the config is shown.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SecretAttribute : Attribute;

/// <summary>A record that may also be written as one scalar, which sets the named property.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class ScalarFormAttribute(string property) : Attribute
{
    public string Property { get; } = property;
}

/// <summary>Another accepted spelling of a key (kept for configs of the earlier gateway).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ConfigAliasAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
