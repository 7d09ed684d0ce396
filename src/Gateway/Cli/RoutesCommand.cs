using System.CommandLine;
using Gateway.Routing;

namespace Gateway.Cli;

/// <summary><c>gateway routes FILE</c>: the compiled route table in order of precedence.</summary>
internal static class RoutesCommand
{
    public static Command Build()
    {
        var file = new Argument<string>("FILE") { Description = "Config file." };
        var command = new Command("routes", "Print the compiled route table: precedence, path, methods, hosts, backends, policies.") { file };
        command.SetAction(parse => Print(parse.GetValue(file)!));
        return command;
    }

    private static int Print(string path)
    {
        var runtime = ConfigFiles.LoadOrReport(path);
        if (runtime is null)
        {
            return CliApp.UserFailure($"{path} has errors; run 'gateway validate {path}'");
        }

        var rows = new List<string[]> { new[] { "#", "ID", "METHODS", "PATH", "HOSTS", "TARGET", "POLICIES" } };
        foreach (var route in runtime.Routes.OrderBy(r => r.Rank))
        {
            rows.Add(
            [
                (route.Rank + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                route.Id,
                route.Conditions.Methods is { } methods ? string.Join(',', methods) : "*",
                route.Pattern.Text,
                route.Conditions.Hosts is { } hosts ? string.Join(',', hosts.Patterns) : "*",
                Target(route),
                Policies(route),
            ]);
        }

        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in rows)
        {
            Console.Out.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }

        return CliApp.Ok;
    }

    internal static string Target(CompiledRoute route)
    {
        var forward = route.Policy<Forwarding.ForwardPolicy>()!;
        if (forward.Mock is { } mock)
        {
            return $"mock {mock.Status}";
        }

        var group = forward.Upstream!.Backends;
        var list = string.Join(',', group.Backends.Select((b, i) => group.Backends.Length > 1 ? $"{b.Name}*{group.Weights[i]}" : b.Name));
        return group.Backends.Length > 1 ? $"{group.Strategy}({list})" : list;
    }

    /// <summary>The route's conditions and each stage's policy in its own words, in stage order.</summary>
    internal static string Policies(CompiledRoute route)
    {
        var policies = new List<string>();
        if (route.Priority != 0)
        {
            policies.Add($"priority={route.Priority}");
        }

        if (route.Conditions.Headers.Length > 0)
        {
            policies.Add("headers(" + string.Join(',', route.Conditions.Headers.Select(h => h.Name)) + ")");
        }

        if (route.Conditions.Query.Length > 0)
        {
            policies.Add("query(" + string.Join(',', route.Conditions.Query.Select(h => h.Name)) + ")");
        }

        if (route.StripPrefix)
        {
            policies.Add("strip_prefix");
        }

        if (route.PreserveHost)
        {
            policies.Add("preserve_host");
        }

        if (route.AllowEncodedSlashes)
        {
            policies.Add("allow_encoded_slashes");
        }

        var stages = Pipeline.GatewayFeatures.Stages;
        for (var i = 0; i < stages.Length; i++)
        {
            if (route.Policies[i] is { } policy && stages[i].Describe(policy) is { } described)
            {
                policies.Add(described);
            }
        }

        if (route.Unavailable is not null)
        {
            policies.Add("UNAVAILABLE(not enforced yet)");
        }

        return policies.Count == 0 ? "-" : string.Join(' ', policies);
    }
}
