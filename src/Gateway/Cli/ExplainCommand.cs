using System.CommandLine;
using System.Net;
using Gateway.Forwarding;
using Gateway.Pipeline;
using Gateway.Routing;

namespace Gateway.Cli;

/// <summary><c>gateway explain FILE METHOD URL</c>: which route takes a request and why, and what the backend receives.</summary>
internal static class ExplainCommand
{
    public static Command Build()
    {
        var file = new Argument<string>("FILE") { Description = "Config file." };
        var method = new Argument<string>("METHOD") { Description = "HTTP method, like GET." };
        var url = new Argument<string>("URL") { Description = "A path (/api/users?x=1) or an absolute URL (http://api.example.com/users)." };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header, 'Name: value' (repeatable).", AllowMultipleArgumentsPerToken = false };
        var clientIp = new Option<string>("--client-ip") { Description = "The TCP peer address to assume.", DefaultValueFactory = _ => "127.0.0.1" };
        var command = new Command("explain", "Offline: which route matches a request and why, which policies run, and the exact upstream request.")
        {
            file, method, url, headers, clientIp,
        };
        command.SetAction(parse => ExplainAsync(parse.GetValue(file)!, parse.GetValue(method)!, parse.GetValue(url)!, parse.GetValue(headers) ?? [], parse.GetValue(clientIp)!));
        return command;
    }

    private static async Task<int> ExplainAsync(string path, string method, string url, string[] headerLines, string clientIp)
    {
        if (!IPAddress.TryParse(clientIp, out var peer))
        {
            return CliApp.UserFailure($"--client-ip '{clientIp}' is not an IP address");
        }

        if (!Gateway.Configuration.Validation.ValidationRules.IsToken(method))
        {
            return CliApp.UserFailure($"'{method}' is not a valid HTTP method");
        }

        var runtime = ConfigFiles.LoadOrReport(path);
        if (runtime is null)
        {
            return CliApp.UserFailure($"{path} has errors; run 'gateway validate {path}'");
        }

        var (outcome, error) = await OfflineEvaluation.EvaluateAsync(runtime, method, url, headerLines, peer);
        if (outcome is null)
        {
            return CliApp.UserFailure(error!);
        }

        var exchange = outcome.Exchange;
        var rawTarget = exchange.RawTarget;
        var output = Console.Out;
        output.WriteLine($"request     {exchange.Method} {exchange.Scheme}://{exchange.Authority}{rawTarget}");
        var target = PathNormalizer.NormalizeTarget(rawTarget);
        if (target.IsValid)
        {
            var changed = target.Path != (rawTarget.Contains('?', StringComparison.Ordinal) ? rawTarget[..rawTarget.IndexOf('?', StringComparison.Ordinal)] : rawTarget);
            output.WriteLine($"path        {target.Path}{(changed ? "  (normalized)" : "")}");
        }

        // Every route whose path pattern fits, whatever its conditions: the chosen one, and why each other one is not.
        var pathMatches = target.IsValid
            ? runtime.Routes.Where(r => r.Pattern.TryMatch(target.Path, out _)).OrderBy(r => r.Rank).ToList()
            : [];
        var route = exchange.Route;
        if (route is not null)
        {
            route.Pattern.TryMatch(target.Path, out var values);
            output.WriteLine($"route       {route.Id}  (routes[{route.Index}] '{route.Pattern.Text}', precedence #{route.Rank + 1})");
            output.WriteLine($"  because   {Why(route, values, exchange.Method)}");
        }
        else if (target.IsValid && pathMatches.Count == 0)
        {
            output.WriteLine("route       none: no route's path pattern fits this path");
        }

        foreach (var other in pathMatches.Where(c => c != route))
        {
            output.WriteLine($"  not       {other.Id}  (routes[{other.Index}] '{other.Pattern.Text}'): {WhyNot(other, exchange, route)}");
        }

        if (route is not null)
        {
            output.WriteLine($"policies    {RoutesCommand.Policies(route)}");
            foreach (var key in GatewayFeatures.All.SelectMany(f => f.NotEnforced).Where(k => k.AppliesTo(runtime.Source, route.Source)))
            {
                output.WriteLine($"  warning   {key.Key} is not enforced yet: {key.Consequence}");
            }
        }

        if (route?.Policy<Authentication.AuthPolicy>() is not null && exchange.StageCursor >= GatewayFeatures.IndexOf<Authentication.AuthenticationStage>())
        {
            var who = exchange.Identity;
            output.WriteLine(who is not null
                ? $"identity    {who.Method}: {who.Subject ?? "(no subject)"}" + (who.Roles.Count > 0 ? $", roles {string.Join(',', who.Roles)}" : "")
                : exchange.StageCursor == GatewayFeatures.IndexOf<Authentication.AuthenticationStage>() && exchange.Answer is not null
                    ? $"identity    refused: {outcome.Detail}"
                    : "identity    anonymous (authentication is optional here)");
        }

        if (outcome.Mocked)
        {
            output.WriteLine($"answer      {outcome.Status} from the mock (no backend is called), {route!.Policy<ForwardPolicy>()!.Mock!.BodyLength} bytes");
            return CliApp.Ok;
        }

        if (outcome.Plan is not { } plan)
        {
            output.WriteLine($"answer      {outcome.Status} {ReasonPhrase(outcome.Status)}: {outcome.Detail}"
                + (outcome.Allow is null ? "" : $" (Allow: {outcome.Allow})"));
            foreach (var (name, values) in exchange.Client.ResponseHeaders)
            {
                if (name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase) || name.Equals("Vary", StringComparison.OrdinalIgnoreCase))
                {
                    output.WriteLine($"  header    {name}: {values}");
                }
            }

            return CliApp.Ok;
        }

        var upstream = route!.Policy<ForwardPolicy>()!.Upstream!;
        var group = upstream.Backends;
        output.WriteLine($"upstream    {plan.Method} {plan.Url}"
            + (group.Backends.Length > 1 ? $"  (first of {group.Backends.Length} backends, {group.Strategy})" : ""));
        output.WriteLine($"  timeout   {upstream.Timeout.TotalSeconds:0.###} s (504 when exceeded)");
        foreach (var (name, value) in plan.Headers)
        {
            output.WriteLine($"  header    {name}: {value}");
        }

        foreach (var name in plan.Removed)
        {
            output.WriteLine($"  removed   {name}");
        }

        if (route.Policy<Transforms.TransformPolicy>()?.Response is { } response)
        {
            // The response side depends on the backend's answer: its rules, as configured.
            foreach (var edit in response.Headers.Edits)
            {
                output.WriteLine(edit.Kind == Transforms.EditKind.Remove
                    ? $"  response  remove {edit.Name}"
                    : $"  response  {(edit.Kind == Transforms.EditKind.Add ? "add" : "set")} {edit.Name}: {edit.Value}");
            }
        }

        return CliApp.Ok;
    }

    private static string Why(CompiledRoute route, Dictionary<string, string> values, string method)
    {
        var parts = new List<string> { $"path matches '{route.Pattern.Text}'" + (values.Count == 0 ? "" : " with " + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"))) };
        parts.Add(route.Conditions.Methods is null ? "any method" : $"method {method} is one of {string.Join(',', route.Conditions.Methods)}");
        if (route.Conditions.Hosts is { } hosts)
        {
            parts.Add($"host is one of {string.Join(',', hosts.Patterns)}");
        }

        foreach (var header in route.Conditions.Headers)
        {
            parts.Add($"header {header.Name} {header.Describe()}");
        }

        foreach (var query in route.Conditions.Query)
        {
            parts.Add($"query {query.Name} {query.Describe()}");
        }

        return string.Join("; ", parts);
    }

    private static string WhyNot(CompiledRoute route, Exchange exchange, CompiledRoute? chosen)
    {
        var conditions = route.Conditions;
        if (conditions.Hosts is { } hosts && !hosts.Matches(exchange.HostName))
        {
            return $"host '{exchange.HostName}' is not one of {string.Join(',', hosts.Patterns)}";
        }

        foreach (var header in conditions.Headers)
        {
            if (!header.Matches(exchange.RequestHeaders[header.Name]))
            {
                return $"header {header.Name} must be {header.Describe()}";
            }
        }

        foreach (var query in conditions.Query)
        {
            if (!query.Matches(exchange.QueryValue(query.Name)))
            {
                return $"query parameter {query.Name} must be {query.Describe()}";
            }
        }

        if (!conditions.AllowsMethod(exchange.Method))
        {
            return $"method {exchange.Method} is not one of {string.Join(',', conditions.Methods!)}";
        }

        return chosen is not null ? $"lower precedence than {chosen.Id}" : "not chosen";
    }

    internal static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
