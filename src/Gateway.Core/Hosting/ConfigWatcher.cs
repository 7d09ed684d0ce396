using System.Security.Cryptography;
using Gateway.Configuration;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// Reloads the config file when its content changes, while <c>hot_reload.enabled</c> is on. The file's folder is
/// watched, so editors that write a temporary file and rename it over the config, and Kubernetes ConfigMaps (whose
/// file is a symlink swapped by renaming <c>..data</c>), are both seen; the final target of the file is also polled
/// every two seconds for mounts where change events do not arrive. Changes are debounced by
/// <c>hot_reload.debounce_ms</c>, and a reload happens only when the bytes differ from the last ones seen, so rapid
/// successive writes end in one reload of the last version.
/// </summary>
internal sealed partial class ConfigWatcher : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly ConfigReloader _reloader;
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly ITimer _debounce;
    private readonly ITimer _poll;
    private FileSystemWatcher? _watcher;
    private TimeSpan _delay;
    private bool _enabled;
    private string? _seen;
    private (string Target, DateTime Written, long Length)? _stamp;
    private bool _disposed;

    public ConfigWatcher(ConfigReloader reloader, string path, TimeProvider time, ILogger logger)
    {
        _reloader = reloader;
        _path = System.IO.Path.GetFullPath(path);
        _logger = logger;
        _seen = Fingerprint();
        _stamp = Stamp();
        _debounce = time.CreateTimer(static state => ((ConfigWatcher)state!).Settle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _poll = time.CreateTimer(static state => ((ConfigWatcher)state!).Poll(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        reloader.Applied += config => Follow(config.Source.HotReload);
    }

    /// <summary>Turns watching on or off as the running config says.</summary>
    public void Follow(HotReloadConfig? config)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _delay = TimeSpan.FromMilliseconds(config?.DebounceMs ?? 500);
            var enable = config is { Enabled: true };
            if (enable == _enabled)
            {
                return;
            }

            _enabled = enable;
            if (enable)
            {
                _seen = Fingerprint();
                _stamp = Stamp();
                try
                {
                    _watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(_path)!)
                    {
                        IncludeSubdirectories = false,
                        NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                    };
                    _watcher.Changed += (_, _) => Schedule();
                    _watcher.Created += (_, _) => Schedule();
                    _watcher.Deleted += (_, _) => Schedule();
                    _watcher.Renamed += (_, _) => Schedule();
                    _watcher.Error += (_, e) => Log.WatchError(_logger, e.GetException().Message);
                    _watcher.EnableRaisingEvents = true;
                }
                catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
                {
                    // No inotify watch to be had (the instance limit, say): polling still finds every change.
                    _watcher?.Dispose();
                    _watcher = null;
                    Log.WatchError(_logger, e.Message);
                }

                _poll.Change(PollInterval, PollInterval);
                Log.Watching(_logger, _path, (long)_delay.TotalMilliseconds);
            }
            else
            {
                _watcher?.Dispose();
                _watcher = null;
                _poll.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _debounce.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Schedule()
    {
        lock (_gate)
        {
            if (_enabled && !_disposed)
            {
                // Each change starts the wait again: a burst of writes settles into one reload.
                _debounce.Change(_delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Poll()
    {
        var stamp = Stamp();
        bool changed;
        lock (_gate)
        {
            changed = stamp != _stamp;
            _stamp = stamp;
        }

        if (changed)
        {
            Schedule();
        }
    }

    private void Settle()
    {
        var fingerprint = Fingerprint();
        lock (_gate)
        {
            if (!_enabled || _disposed || fingerprint is null || fingerprint == _seen)
            {
                return;
            }

            _seen = fingerprint;
        }

        try
        {
            _reloader.Reload("file change");
        }
        catch (Exception e)
        {
            Log.ReloadCrashed(_logger, e);
        }
    }

    /// <summary>
    /// A digest of the file's bytes as they are now (null while it cannot be read, as in the middle of a swap). Read
    /// like the loader reads it: a device or FIFO put in the config's place is never opened, and the read is bounded.
    /// </summary>
    private string? Fingerprint() =>
        ConfigFileReader.TryRead(_path, ConfigLoader.MaxFileBytes, out var bytes, out _) == FileReadFailure.None
            ? Convert.ToHexString(SHA256.HashData(bytes))
            : null;

    /// <summary>Where the file finally points and when that was written (cheap, for the poll).</summary>
    private (string, DateTime, long)? Stamp()
    {
        try
        {
            var info = new FileInfo(_path);
            var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            return target.Exists ? (target.FullName, target.LastWriteTimeUtc, target.Length) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watcher?.Dispose();
            _watcher = null;
        }

        _debounce.Dispose();
        _poll.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "hot reload: watching {Path} (debounce {DebounceMs} ms)")]
        public static partial void Watching(ILogger logger, string path, long debounceMs);

        [LoggerMessage(2, LogLevel.Warning, "hot reload: file watching failed ({Error}); changes are still found by polling")]
        public static partial void WatchError(ILogger logger, string error);

        [LoggerMessage(3, LogLevel.Error, "hot reload failed inside the gateway")]
        public static partial void ReloadCrashed(ILogger logger, Exception error);
    }
}
