using System.CommandLine;
using System.Text.Json;
using Gateway.Configuration;

namespace Gateway.Cli;

/// <summary>
/// <c>gateway validate FILE... [--json] [--strict]</c>: every problem of every file, then exit 1 if any is an error
/// (with <c>--strict</c>, a warning too: for CI).
/// </summary>
internal static class ValidateCommand
{
    public static Command Build()
    {
        var files = new Argument<string[]>("FILE") { Description = "Config files to check.", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print the problems as a JSON array." };
        var strict = new Option<bool>("--strict") { Description = "Count warnings as errors (exit 1), for CI." };
        var command = new Command("validate", "Load and validate config files; print every problem with its location.") { files, json, strict };
        command.SetAction(parse => Validate(parse.GetValue(files)!, parse.GetValue(json), parse.GetValue(strict)));
        return command;
    }

    private static int Validate(string[] files, bool json, bool strict)
    {
        var all = new List<ConfigProblem>();
        var summaries = new List<string>();
        foreach (var file in files)
        {
            var loaded = ConfigLoader.LoadFile(file);
            var problems = loaded.Problems.ToList();
            if (loaded.Config is not null && !loaded.HasErrors)
            {
                summaries.Add($"{file}: ok ({loaded.Config.Routes.Count} route{(loaded.Config.Routes.Count == 1 ? "" : "s")}, "
                    + $"{problems.Count(p => !p.IsError)} warning{(problems.Count(p => !p.IsError) == 1 ? "" : "s")})");
            }

            all.AddRange(problems);
        }

        var errors = all.Count(p => p.IsError);
        var failing = strict ? all.Count : errors;
        if (json)
        {
            var output = all.Select(p => new
            {
                file = p.File,
                line = p.Line,
                column = p.Column,
                path = p.Path,
                message = p.Message,
                severity = p.IsError ? "error" : "warning",
            });
            // Read by people and scripts, never embedded in HTML: quotes and apostrophes stay as they are (not \u0027).
            Console.Out.WriteLine(JsonSerializer.Serialize(output, new JsonSerializerOptions
            {
                WriteIndented = true,
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }));
            return failing > 0 ? CliApp.UserError : CliApp.Ok;
        }

        foreach (var problem in all)
        {
            Console.Error.WriteLine(problem);
        }

        if (errors > 0)
        {
            return CliApp.UserFailure($"{errors} error{(errors == 1 ? "" : "s")} found");
        }

        if (failing > 0)
        {
            return CliApp.UserFailure($"{failing} warning{(failing == 1 ? "" : "s")} found (--strict counts them as errors)");
        }

        foreach (var summary in summaries)
        {
            Console.Out.WriteLine(summary);
        }

        return CliApp.Ok;
    }
}
