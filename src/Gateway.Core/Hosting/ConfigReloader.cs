using Gateway.Configuration;
using Gateway.State;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>What one reload did.</summary>
internal sealed record ReloadResult(bool Applied, long Version, ConfigDiff? Diff, IReadOnlyList<string> Problems, string Message);

/// <summary>
/// Applies a new config while the gateway serves: load and validate it, refuse it whole if it has errors or changes a
/// key that needs a restart, compile it against the live state, swap it in with one atomic write, then retire the
/// live state it no longer names. Requests in flight finish on the snapshot they started with. One reload runs at a
/// time; each is logged in one line and counted.
/// </summary>
internal sealed partial class ConfigReloader
{

    private readonly Lock _gate = new();
    private readonly ConfigStore _store;
    private readonly LiveState _state;
    private readonly string? _path;
    private readonly Func<GatewayConfig, GatewayConfig> _overrides;
    private readonly ILogger _logger;

    public ConfigReloader(ConfigStore store, LiveState state, string? path, Func<GatewayConfig, GatewayConfig> overrides, ILogger logger)
    {
        _store = store;
        _state = state;
        _path = path;
        _overrides = overrides;
        _logger = logger;
        state.Metrics.ConfigLoaded(store.Current.LoadedAt);
    }

    /// <summary>The file the config comes from (null when it was given as text).</summary>
    public string? Path => _path;

    /// <summary>Happens after every applied reload, with the new snapshot (the file watch follows <c>hot_reload</c>).</summary>
    public event Action<RuntimeConfig>? Applied;

    /// <summary>Reloads from the config file.</summary>
    public ReloadResult Reload(string trigger)
    {
        if (_path is null)
        {
            return Refused(trigger, ["the gateway was not started from a config file"]);
        }

        lock (_gate)
        {
            var loaded = ConfigLoader.LoadFile(_path);
            if (loaded.HasErrors)
            {
                var problems = loaded.Errors.Select(p => p.ToString()).ToList();
                foreach (var problem in problems)
                {
                    Log.Problem(_logger, problem);
                }

                return Refused(trigger, problems);
            }

            var next = _overrides(loaded.Config!);
            var running = _store.Current;
            var restartOnly = RestartOnlyKeys.Changed(running.Source, next);
            if (restartOnly.Count > 0)
            {
                return Refused(trigger, [$"{string.Join(", ", restartOnly)} cannot change while the gateway runs; restart it to apply {(restartOnly.Count == 1 ? "this change" : "these changes")}"]);
            }

            RuntimeConfig compiled;
            try
            {
                compiled = ConfigCompiler.Compile(next, running.Version + 1, _state.Time.GetUtcNow(), _state);
            }
            catch (Exception e)
            {
                _state.Abandon();
                Log.CompileFailed(_logger, e);
                return Refused(trigger, ["the config could not be compiled (a bug; see the log)"]);
            }

            _store.Swap(compiled);
            _state.Commit(compiled);
            var diff = ConfigDiff.Between(running.Source, next);
            _state.Metrics.ConfigReloads.Add(1, new KeyValuePair<string, object?>("result", "success"));
            _state.Metrics.ConfigLoaded(compiled.LoadedAt);
            Log.Reloaded(_logger, trigger, compiled.Version, diff.Describe());
            foreach (var warning in loaded.Warnings)
            {
                Log.Warning(_logger, "config: " + warning);
            }

            Applied?.Invoke(compiled);
            return new ReloadResult(true, compiled.Version, diff, [], $"version {compiled.Version}: {diff.Describe()}");
        }
    }

    private ReloadResult Refused(string trigger, List<string> problems)
    {
        var version = _store.Current.Version;
        _state.Metrics.ConfigReloads.Add(1, new KeyValuePair<string, object?>("result", "failure"));
        var message = $"reload ({trigger}) refused: {(problems.Count == 1 ? problems[0] : $"{problems.Count} problems")}; version {version} keeps serving";
        Log.Refused(_logger, message);
        return new ReloadResult(false, version, null, problems, message);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "config reloaded ({Trigger}): version {Version}; {Changes}")]
        public static partial void Reloaded(ILogger logger, string trigger, long version, string changes);

        [LoggerMessage(2, LogLevel.Error, "{Message}")]
        public static partial void Refused(ILogger logger, string message);

        [LoggerMessage(3, LogLevel.Error, "{Problem}")]
        public static partial void Problem(ILogger logger, string problem);

        [LoggerMessage(4, LogLevel.Error, "compiling the new config failed")]
        public static partial void CompileFailed(ILogger logger, Exception error);

        [LoggerMessage(5, LogLevel.Warning, "{Warning}")]
        public static partial void Warning(ILogger logger, string warning);
    }
}
