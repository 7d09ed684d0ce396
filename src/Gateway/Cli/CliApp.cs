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
            SchemaCommand.Build(),
            DoctorCommand.Build(),
            CompletionCommand.Build(),
        };

        // Paths like /h and /? are request paths here (gateway explain FILE GET /h), never a request for help.
        foreach (var option in root.Options)
        {
            option.Aliases.Remove("/h");
            option.Aliases.Remove("/?");
        }

        return root;
    }

    public static int Run(string[] args)
    {
        try
        {
            var root = BuildRoot();
            var parsed = root.Parse(RewriteBareInvocation(args, root));
            if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h") && !args.Contains("-?"))
            {
                // One line per problem (a missing argument once, by name) and a pointer to the help, instead of the whole help text.
                var command = parsed.CommandResult.Command;
                var missing = command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0 && parsed.GetResult(a) is not { Tokens.Count: > 0 }).Select(a => a.Name).ToList();
                foreach (var message in parsed.Errors.Select(e => Simplify(e.Message)).Distinct())
                {
                    Console.Error.WriteLine(missing.Count > 0 && message.StartsWith("Required argument missing", StringComparison.Ordinal)
                        ? $"gateway: {command.Name} needs {string.Join(' ', command.Arguments.Select(a => a.Name))}; missing: {string.Join(' ', missing)}"
                        : $"gateway: {message}");
                }

                var verb = "";
                for (var result = parsed.CommandResult; result.Command != root; result = (System.CommandLine.Parsing.CommandResult)result.Parent!)
                {
                    verb = " " + result.Command.Name + verb;
                }

                Console.Error.WriteLine($"run 'gateway{verb} --help' for usage");
                return UserError;
            }

            if (parsed.Action is System.CommandLine.Help.HelpAction)
            {
                return WriteHelp(parsed);
            }

            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UnknownVerbException e)
        {
            return UserFailure(e.Message + "; run 'gateway --help' for the list");
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

        // A word that is not a file is a mistyped verb, not a config path.
        if (!File.Exists(first) && !first.Contains('.', StringComparison.Ordinal) && !first.Contains('/', StringComparison.Ordinal))
        {
            var suggestion = Gateway.Configuration.YamlBinder.Suggest(first, root.Subcommands.Select(c => c.Name));
            throw new UnknownVerbException(suggestion is null ? $"unknown command '{first}'" : $"unknown command '{first}'; did you mean '{suggestion}'?");
        }

        return ["run", "--config", first, .. args[1..]];
    }

    /// <summary>
    /// The help text, with the optional arguments of the verbs it lists shown as optional (<c>run [CONFIG]</c>): the
    /// parser's own list shows every argument as if it were required.
    /// </summary>
    private static int WriteHelp(ParseResult parsed)
    {
        var text = new StringWriter();
        var code = parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = text });
        var help = text.ToString();
        foreach (var verb in parsed.CommandResult.Command.Subcommands)
        {
            var required = string.Concat(verb.Arguments.Select(a => $" <{a.Name}>"));
            var shown = string.Concat(verb.Arguments.Select(a => a.Arity.MinimumNumberOfValues == 0 ? $" [{a.Name}]" : $" <{a.Name}>"));
            help = help.Replace($"  {verb.Name}{required} ", $"  {verb.Name}{shown} ", StringComparison.Ordinal);
        }

        Console.Out.Write(help);
        return code;
    }

    private static string Simplify(string message) => message
        .Replace("System.Nullable`1[System.Int32]", "a number", StringComparison.Ordinal)
        .Replace("System.Int32", "a number", StringComparison.Ordinal);

    public static int UserFailure(string message)
    {
        Console.Error.WriteLine($"gateway: {message}");
        return UserError;
    }
}

/// <summary>The first word was neither a verb nor a config file.</summary>
internal sealed class UnknownVerbException(string message) : Exception(message);
