using System.CommandLine;
using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;

namespace Gateway.Cli;

/// <summary>A file of route test cases for <c>gateway test</c>.</summary>
internal sealed record RouteTestFile
{
    public List<RouteTestCase> Cases { get; init; } = [];
}

internal sealed record RouteTestCase
{
    public string? Name { get; init; }
    public string Method { get; init; } = "GET";
    public string Url { get; init; } = "";
    public Dictionary<string, string>? Headers { get; init; }
    public string ClientIp { get; init; } = "127.0.0.1";
    public RouteTestExpectation Expect { get; init; } = new();
}

internal sealed record RouteTestExpectation
{
    public int? Status { get; init; }
    public string? Route { get; init; }
    public string? UpstreamPath { get; init; }
    public string? UpstreamUrl { get; init; }
    public Dictionary<string, string>? Headers { get; init; }
    public string? Allow { get; init; }
}

/// <summary>
/// <c>gateway test FILE CASES</c>: offline route tests for users' CI: each case is a request and what should
/// happen to it (route id, upstream path or URL, status, upstream headers). Exit 1 on any failure.
/// </summary>
internal static class TestCommand
{
    public static Command Build()
    {
        var file = new Argument<string>("FILE") { Description = "Config file." };
        var cases = new Argument<string>("CASES") { Description = "YAML file with 'cases:' (request and expectation each)." };
        var command = new Command("test", "Offline route tests: requests and their expected route, upstream path, status or headers.") { file, cases };
        command.SetAction(parse => RunAsync(parse.GetValue(file)!, parse.GetValue(cases)!));
        return command;
    }

    private static async Task<int> RunAsync(string configPath, string casesPath)
    {
        var runtime = ConfigFiles.LoadOrReport(configPath);
        if (runtime is null)
        {
            return CliApp.UserFailure($"{configPath} has errors; run 'gateway validate {configPath}'");
        }

        // The same bounded reader as for configs: a device or FIFO named as the cases file is refused, not read.
        if (!ConfigLoader.TryReadText(casesPath, out var text, out var unreadable))
        {
            return CliApp.UserFailure($"{casesPath}: {unreadable.Message}");
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(casesPath))!;
        var (file, diagnostics) = ConfigLoader.Bind<RouteTestFile>(text, casesPath, baseDirectory);
        for (var i = 0; file is not null && i < file.Cases.Count; i++)
        {
            if (file.Cases[i].Url.Length == 0)
            {
                diagnostics.Error($"cases[{i}].url", "is required");
            }
        }

        if (file is null || diagnostics.HasErrors || file.Cases.Count == 0)
        {
            foreach (var problem in diagnostics.Problems)
            {
                Console.Error.WriteLine(problem);
            }

            var errors = diagnostics.Problems.Count(p => p.IsError);
            return CliApp.UserFailure(errors > 0
                ? $"{casesPath}: {errors} problem{(errors == 1 ? "" : "s")} in the test cases; no case was run"
                : $"{casesPath}: no test cases (write 'cases:' with a list of url and expect)");
        }

        int passed = 0, failed = 0;
        for (var i = 0; i < file.Cases.Count; i++)
        {
            var testCase = file.Cases[i];
            var name = testCase.Name ?? $"cases[{i}] {testCase.Method} {testCase.Url}";
            var failures = await CheckAsync(runtime, testCase);
            if (failures.Count == 0)
            {
                passed++;
                Console.Out.WriteLine($"PASS  {name}");
            }
            else
            {
                failed++;
                Console.Out.WriteLine($"FAIL  {name}");
                foreach (var failure in failures)
                {
                    Console.Out.WriteLine($"      {failure}");
                }
            }
        }

        Console.Out.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? CliApp.Ok : CliApp.UserError;
    }

    private static async Task<List<string>> CheckAsync(RuntimeConfig runtime, RouteTestCase testCase)
    {
        var failures = new List<string>();
        if (!IPAddress.TryParse(testCase.ClientIp, out var peer))
        {
            failures.Add($"client_ip '{testCase.ClientIp}' is not an IP address");
            return failures;
        }

        var headerLines = testCase.Headers?.Select(h => $"{h.Key}: {h.Value}") ?? [];
        var (outcome, error) = await OfflineEvaluation.EvaluateAsync(runtime, testCase.Method, testCase.Url, headerLines, peer);
        if (outcome is null)
        {
            failures.Add(error!);
            return failures;
        }

        var status = outcome.Status;
        var route = outcome.Exchange.Route;
        var expect = testCase.Expect;
        Compare(failures, "status", expect.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture), status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Compare(failures, "route", expect.Route, status is 404 or 405 ? "(none)" : route?.Id ?? "(none)");
        Compare(failures, "allow", expect.Allow, outcome.Allow ?? "(none)");
        if (expect.UpstreamPath is null && expect.UpstreamUrl is null && expect.Headers is null)
        {
            return failures;
        }

        if (outcome.Plan is not { } plan)
        {
            failures.Add($"expected an upstream request, but the gateway answers {status} itself");
            return failures;
        }

        var shape = route!.Policy<ForwardPolicy>()!.Upstream!.Shape;
        Compare(failures, "upstream_path", expect.UpstreamPath, shape.Path(outcome.Exchange) + shape.Query(outcome.Exchange));
        Compare(failures, "upstream_url", expect.UpstreamUrl, plan.Url);
        foreach (var (name, value) in expect.Headers ?? [])
        {
            var actual = plan.Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
            Compare(failures, $"header {name}", value, actual ?? "(absent)");
        }

        return failures;
    }

    private static void Compare(List<string> failures, string what, string? expected, string actual)
    {
        if (expected is not null && expected != actual)
        {
            failures.Add($"{what}: expected '{expected}', got '{actual}'");
        }
    }
}
