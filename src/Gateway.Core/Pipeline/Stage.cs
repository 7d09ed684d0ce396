using Gateway.Configuration;

namespace Gateway.Pipeline;

/// <summary>
/// One feature of the gateway as the config sees it: the keys it validates, what it reports as not enforced, and
/// whether it makes a route unsafe to serve. A feature that acts on requests is a <see cref="Stage"/> too. Every
/// feature is registered once, in <see cref="GatewayFeatures.All"/>.
/// </summary>
internal abstract class Feature
{
    /// <summary>Checks the keys this feature owns; appends every problem, never stops at the first.</summary>
    public virtual void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory)
    {
    }

    /// <summary>
    /// The keys of this feature that this build parses but does not enforce yet. Validation warns once per entry that
    /// the config sets, at its first location, naming every route that sets it.
    /// </summary>
    public virtual IEnumerable<UnenforcedKey> NotEnforced => [];

    /// <summary>Why a route cannot serve safely in this build (it would fail open), or null when it can.</summary>
    public virtual Routing.RouteUnavailable? UnavailableReason(GatewayConfig config, RouteConfig route) => null;
}

/// <summary>A key the config accepts but this build does not enforce yet, and what happens instead.</summary>
/// <param name="Key">The key as written: at the top level when <see cref="IsSet"/> says so, under a route when <see cref="OnRoute"/> does.</param>
/// <param name="Consequence">What the gateway does instead, for the warning.</param>
/// <param name="IsSet">Whether the top-level key is set (null: the key exists under routes only).</param>
/// <param name="OnRoute">Whether a route sets the key itself (null: a top-level key only). A top-level key that routes may also set applies to every route.</param>
internal sealed record UnenforcedKey(string Key, string Consequence, Func<GatewayConfig, bool>? IsSet, Func<RouteConfig, bool>? OnRoute)
{
    /// <summary>Whether the key applies to the route: set on it, or set at the top level for every route.</summary>
    public bool AppliesTo(GatewayConfig config, RouteConfig route) =>
        OnRoute is not null && (OnRoute(route) || IsSet?.Invoke(config) == true);
}

/// <summary>Whether a stage runs before a route is known (on the snapshot) or with the route's own policy.</summary>
internal enum StageScope
{
    /// <summary>Runs for every request with a policy compiled for the whole snapshot.</summary>
    Request,

    /// <summary>Runs once a route matched, with that route's policy (skipped where the route has none).</summary>
    Route,
}

/// <summary>
/// A step every request goes through, with a request side (may answer early) and a response side (adds what this
/// stage owns to whatever response goes out: a backend's, a mock's, or another stage's early answer). The response
/// side runs for this stage and every stage before it, in reverse order, before the response head is sent.
/// </summary>
internal abstract class Stage : Feature
{
    public virtual StageScope Scope => StageScope.Route;

    /// <summary>
    /// The stage's immutable policy for the snapshot (<see cref="StageScope.Request"/>) or for one route, or null when
    /// the stage has nothing to do there (it is then skipped, response side included).
    /// </summary>
    public abstract object? Compile(StageCompilation compilation);

    /// <summary>True to go on to the next stage; false when this stage answered (<see cref="Exchange.Respond"/>) or sent the response.</summary>
    public abstract ValueTask<bool> RequestAsync(Exchange exchange, object policy);

    /// <summary>Runs once per response, before its head is sent. Sets headers (never appends), so that it can run again after a reset.</summary>
    public virtual void Response(Exchange exchange, object policy)
    {
    }

    /// <summary>Runs once the exchange is over (logging).</summary>
    public virtual void Completed(Exchange exchange, object policy)
    {
    }

    /// <summary>The policy in a few words, for <c>gateway routes</c> and <c>explain</c>; null to say nothing.</summary>
    public virtual string? Describe(object policy) => null;
}

/// <summary>A stage with a typed policy.</summary>
internal abstract class Stage<TPolicy> : Stage
    where TPolicy : class
{
    public sealed override object? Compile(StageCompilation compilation) => CompilePolicy(compilation);

    public sealed override ValueTask<bool> RequestAsync(Exchange exchange, object policy) => Request(exchange, (TPolicy)policy);

    public sealed override void Response(Exchange exchange, object policy) => Response(exchange, (TPolicy)policy);

    public sealed override void Completed(Exchange exchange, object policy) => Completed(exchange, (TPolicy)policy);

    public sealed override string? Describe(object policy) => Describe((TPolicy)policy);

    protected abstract TPolicy? CompilePolicy(StageCompilation compilation);

    protected abstract ValueTask<bool> Request(Exchange exchange, TPolicy policy);

    protected virtual void Response(Exchange exchange, TPolicy policy)
    {
    }

    protected virtual void Completed(Exchange exchange, TPolicy policy)
    {
    }

    protected virtual string? Describe(TPolicy policy) => null;

    /// <summary>The synchronous "go on" result.</summary>
    protected static ValueTask<bool> Next => new(true);

    /// <summary>The synchronous "answered" result.</summary>
    protected static ValueTask<bool> Stop => new(false);
}
