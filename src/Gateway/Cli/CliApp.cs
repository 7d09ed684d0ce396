using System.CommandLine;

namespace Gateway.Cli;

/// <summary>The command line: verbs, exit codes (0 ok, 1 user error, 2 internal failure), no stack traces for user errors.</summary>
internal static class CliApp
{
    public const int Ok = 0;
    public const int UserError = 1;
    public const int InternalError = 2;

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("gateway: an API gateway. Run 'gateway run' to serve the default config (config/gateway.yaml).")
        {
            RunCommand.Build(),
            ValidateCommand.Build(),
            InitCommand.Build(),
            RoutesCommand.Build(),
            ExplainCommand.Build(),
            TestCommand.Build(),
            KeysCommand.Build(),
            CompletionCommand.Build(),
        };
        return root;
    }

    public static int Run(string[] args)
    {
        try
        {
            var root = BuildRoot();
            var parsed = root.Parse(RewriteBareInvocation(args, root));
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"gateway: internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("GATEWAY_DEBUG") == "1")
            {
                Console.Error.WriteLine(e);
            }

            return InternalError;
        }
    }

    /// <summary><c>gateway</c> alone runs the default config; <c>gateway FILE</c> runs FILE (as the earlier gateway did).</summary>
    internal static string[] RewriteBareInvocation(string[] args, RootCommand root)
    {
        if (args.Length == 0)
        {
            return ["run"];
        }

        var first = args[0];
        if (first.StartsWith('-') || first.StartsWith('['))
        {
            return first is "--port" or "--admin-port" or "--config" ? ["run", .. args] : args;
        }

        foreach (var command in root.Subcommands)
        {
            if (command.Name == first || command.Aliases.Contains(first))
            {
                return args;
            }
        }

        return ["run", "--config", first, .. args[1..]];
    }

    public static int UserFailure(string message)
    {
        Console.Error.WriteLine($"gateway: {message}");
        return UserError;
    }
}
