using System.CommandLine;
using System.Runtime.InteropServices;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Logging;

namespace Gateway.Cli;

/// <summary><c>gateway run</c>: load, validate and serve until SIGTERM/SIGINT, then drain.</summary>
internal static class RunCommand
{
    public const string DefaultConfig = "config/gateway.yaml";

    public static Command Build()
    {
        var file = new Argument<string?>("CONFIG") { Description = "Config file (same as --config).", Arity = ArgumentArity.ZeroOrOne };
        var config = new Option<string?>("--config", "-c") { Description = $"Config file. Default: {DefaultConfig}." };
        var port = new Option<int?>("--port") { Description = "Public port, overriding server.port (0 picks a free port)." };
        var adminPort = new Option<int?>("--admin-port") { Description = "Admin port, overriding admin.port (0 picks a free port)." };
        var command = new Command("run", "Serve with a config file until SIGTERM or SIGINT, then drain gracefully.") { file, config, port, adminPort };
        command.SetAction((parse, cancel) =>
        {
            var (option, argument) = (parse.GetValue(config), parse.GetValue(file));
            if (option is not null && argument is not null && option != argument)
            {
                return Task.FromResult(CliApp.UserFailure($"two config files given ('{option}' and '{argument}'); give one"));
            }

            var path = option ?? argument ?? DefaultConfig;
            if (option is null && argument is null && !File.Exists(path) && !Directory.Exists(path))
            {
                // A first run outside the repository: say how to get a config instead of only that it is missing.
                return Task.FromResult(CliApp.UserFailure(
                    $"no config file given and {DefaultConfig} does not exist here; write a starter one with 'gateway init --out {DefaultConfig}', or run 'gateway run FILE'"));
            }

            return RunAsync(path, parse.GetValue(port), parse.GetValue(adminPort));
        });
        return command;
    }

    private static async Task<int> RunAsync(string path, int? port, int? adminPort)
    {
        // The signals are ours from the first moment: a SIGHUP while starting (systemctl reload right after start)
        // is a reload once the gateway runs, never the default action that ends the process; SIGTERM stops it.
        GatewayHost? host = null;
        var reloadPending = 0;
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Reload);

        foreach (var (name, value) in new[] { ("--port", port), ("--admin-port", adminPort) })
        {
            if (value is < 0 or > 65535)
            {
                return CliApp.UserFailure($"{name} must be between 0 and 65535 (got {value})");
            }
        }

        var loaded = ConfigLoader.LoadFile(path);
        if (loaded.HasErrors)
        {
            foreach (var problem in loaded.Problems)
            {
                Console.Error.WriteLine(problem);
            }

            var count = loaded.Errors.Count();
            return CliApp.UserFailure($"{path}: {count} error{(count == 1 ? "" : "s")} in the config; not starting");
        }

        // The command line wins over the file, at start and on every reload.
        GatewayConfig Overrides(GatewayConfig config)
        {
            if (port is int p)
            {
                config = config with { Server = config.Server with { Port = p } };
            }

            if (adminPort is int a)
            {
                config = config with { Admin = config.Admin with { Port = a } };
            }

            return config;
        }

        var config = Overrides(loaded.Config!);

        if (config.Admin.Enabled && config.Admin.Port != 0 && config.Admin.Port == config.Server.Port)
        {
            return CliApp.UserFailure($"the admin port and the public port are both {config.Server.Port}");
        }

        // Requests run on the I/O threads, like an event loop: nothing on the request path blocks (decision 0010).
        var inlineIo = ProcessSwitches.EnableInlineIo();

        // Bursts on small machines otherwise wait for the thread pool to grow (one thread per 500 ms), and
        // short upstream and Redis deadlines expire while continuations queue.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount * 8), io);

        var time = TimeProvider.System;
        var sink = new LogSink(Console.OpenStandardOutput());
        try
        {
            var started = await GatewayHost.StartAsync(config, sink, time, new GatewayStartOptions
            {
                ConfigPath = path,
                Overrides = Overrides,
                Warnings = [.. loaded.Warnings.Select(w => "config: " + w)],
                InlineIo = inlineIo,
            });
            Volatile.Write(ref host, started);
        }
        catch (IOException e)
        {
            // Port taken, or an address this machine does not have: the user's to fix, not a crash.
            await sink.DisposeAsync();
            return CliApp.UserFailure($"cannot listen: {e.Message}");
        }

        if (Interlocked.Exchange(ref reloadPending, 0) == 1)
        {
            _ = Task.Run(() => host.Reload("SIGHUP"));
        }

        await stop.Task;
        await host.StopAsync();
        await host.DisposeAsync();
        await sink.DisposeAsync();
        return CliApp.Ok;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }

        // SIGHUP reloads the config file, as NGINX users expect; it never ends the process.
        void Reload(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Volatile.Read(ref host) is { } running)
            {
                _ = Task.Run(() => running.Reload("SIGHUP"));
                return;
            }

            // Still starting: reload as soon as it runs (the file may have changed since it was read).
            Volatile.Write(ref reloadPending, 1);
            if (Volatile.Read(ref host) is { } late && Interlocked.Exchange(ref reloadPending, 0) == 1)
            {
                _ = Task.Run(() => late.Reload("SIGHUP"));
            }
        }
    }
}
