using System.CommandLine;
using Gateway.Configuration;

namespace Gateway.Cli;

/// <summary><c>gateway schema</c>: the JSON Schema of the config file, for editors (<c>config/gateway.schema.json</c> is its output).</summary>
internal static class SchemaCommand
{
    /// <summary>The name <c>gateway init</c> gives the schema beside the config, and the starter config's modeline points to.</summary>
    public const string FileName = "gateway.schema.json";

    public static Command Build()
    {
        var command = new Command("schema", $"Print the JSON Schema of the config file, for editor completion and checks (gateway schema > {FileName}).");
        command.SetAction(_ =>
        {
            Console.Out.Write(ConfigSchema.Text());
            return CliApp.Ok;
        });
        return command;
    }
}
