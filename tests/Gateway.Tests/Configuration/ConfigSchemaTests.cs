using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gateway.Cli;
using Gateway.Configuration;
using Json.Schema;
using YamlDotNet.RepresentationModel;

namespace Gateway.Tests.Configuration;

/// <summary>
/// The JSON Schema editors use (<c>config/gateway.schema.json</c>): it is the generated one, every config we ship or
/// accept passes it, and it agrees with the loader on keys in both directions, checked by a real validator.
/// </summary>
public sealed partial class ConfigSchemaTests : IDisposable
{
    private const string Regenerate = "dotnet run --project src/Gateway -- schema > config/gateway.schema.json";

    private static readonly string SchemaFile = Path.Combine(Paths.Repository, "config", SchemaCommand.FileName);

    private static readonly JsonSchema Schema = JsonSchema.FromText(ConfigSchema.Text());

    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-schema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Checked_in_schema_is_the_generated_one()
    {
        // Byte for byte: a byte order mark or CRLF line ends would be a difference too.
        var generated = ConfigSchema.Text();
        var bytes = File.ReadAllBytes(SchemaFile);
        if (bytes.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(generated)))
        {
            return;
        }

        var checkedIn = Encoding.UTF8.GetString(bytes);

        var ours = checkedIn.Split('\n');
        var theirs = generated.Split('\n');
        var line = 0;
        while (line < Math.Min(ours.Length, theirs.Length) && ours[line] == theirs[line])
        {
            line++;
        }

        Assert.Fail($"config/{SchemaCommand.FileName} differs from the schema the config records give (first at line {line + 1}: "
            + $"'{(line < ours.Length ? ours[line].Trim() : "<end>")}' instead of '{(line < theirs.Length ? theirs[line].Trim() : "<end>")}'). "
            + $"Regenerate it with: {Regenerate}");
    }

    [Fact]
    public async Task Schema_command_prints_the_schema()
    {
        var (code, stdout, stderr) = await GatewayProcess.RunAsync(_dir, "schema");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal(ConfigSchema.Text(), stdout);
    }

    [Fact]
    public void Schema_is_valid_draft_2020_12()
    {
        var root = JsonNode.Parse(ConfigSchema.Text())!;
        Assert.Equal(ConfigSchema.Dialect, (string?)root["$schema"]);

        var results = MetaSchemas.Draft202012.Evaluate(JsonDocument.Parse(ConfigSchema.Text()).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(results.IsValid, string.Join('\n', Failures(results)));
    }

    [Theory]
    [MemberData(nameof(ExampleConfigTests.Files), MemberType = typeof(ExampleConfigTests))]
    public void Example_matches_the_schema(string file) =>
        AssertMatches(File.ReadAllText(Path.Combine(Paths.Repository, "examples", file)));

    [Fact]
    public void Default_config_matches_the_schema_and_names_it()
    {
        var text = File.ReadAllText(Path.Combine(Paths.Repository, "config", "gateway.yaml"));
        AssertMatches(text);
        Assert.StartsWith($"# yaml-language-server: $schema=./{SchemaCommand.FileName}\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Starter_config_matches_the_schema_and_names_it()
    {
        var text = InitCommand.StarterConfig();
        AssertMatches(text);
        Assert.StartsWith($"# yaml-language-server: $schema=./{SchemaCommand.FileName}\n", text, StringComparison.Ordinal);
    }

    public static TheoryData<string> ReferenceFiles()
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(Paths.ReferenceConfigs))
        {
            // One case that says why it cannot run, rather than a theory with no case at all.
            data.Add("");
            return data;
        }

        foreach (var file in Directory.GetFiles(Paths.ReferenceConfigs, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(ReferenceFiles))]
    public void Reference_config_matches_the_schema(string file)
    {
        if (file.Length == 0)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", $"the reference configs are missing at {Paths.ReferenceConfigs}");
            Skip.If(true, $"no reference configs at {Paths.ReferenceConfigs}");
        }

        AssertMatches(File.ReadAllText(Path.Combine(Paths.ReferenceConfigs, file)));
    }

    [Theory]
    [InlineData("serverr: {port: 8080}\nroutes: [{path: /a, backend: 'http://127.0.0.1:1'}]\n", "serverr", "/serverr")]
    [InlineData("server: {limits: {max_header: 9000}}\nroutes: [{path: /a, backend: 'http://127.0.0.1:1'}]\n", "server.limits.max_header", "/server/limits/max_header")]
    [InlineData("routes:\n  - path: /a\n    backend: http://127.0.0.1:1\n    strip_prefx: true\n", "routes[0].strip_prefx", "/routes/0/strip_prefx")]
    [InlineData("ip_filter:\n  whitelistt: [10.0.0.0/8]\nroutes: [{path: /a, backend: 'http://127.0.0.1:1'}]\n", "ip_filter.whitelistt", "/ip_filter/whitelistt")]
    [InlineData("routes:\n  - path: /a\n    backend: http://127.0.0.1:1\n    ip_filter: {default_actoin: deny}\n", "routes[0].ip_filter.default_actoin", "/routes/0/ip_filter/default_actoin")]
    [InlineData("routes:\n  - path: /a\n    backend: http://127.0.0.1:1\n    headers: {X-Env: {exactly: prod}}\n", "routes[0].headers.X-Env.exactly", "/routes/0/headers/X-Env/exactly")]
    [InlineData("routes:\n  - path: /a\n    backends: [{url: 'http://127.0.0.1:1', wieght: 2}]\n", "routes[0].backends[0].wieght", "/routes/0/backends/0/wieght")]
    public void Unknown_key_fails_the_schema_as_it_fails_the_loader(string yaml, string loaderPath, string pointer)
    {
        var loaded = ConfigLoader.LoadText(yaml, "unknown.yaml", _dir, _ => null);
        Assert.Contains(loaded.Errors, p => p.Path == loaderPath && p.Message.StartsWith("unknown key", StringComparison.Ordinal));

        var results = Evaluate(yaml);
        Assert.False(results.IsValid);

        // additionalProperties: false fails at the key itself, as the loader's problem does.
        Assert.Contains(results.Details ?? [], d => !d.IsValid && d.InstanceLocation.ToString() == pointer);
    }

    [Theory]
    [InlineData("server: {port: '${PORT:-8080}'}\n")]
    [InlineData("server: {port: \"8080\", http2: \"TRUE\", timeout_secs: \" 2.5e1 \"}\n")]
    [InlineData("logging: {level: '${LOG_LEVEL:-info}'}\n")]
    [InlineData("server:\nlogging: {level: ~}\n")]
    [InlineData("routes: [{path: /a, mock: {status: 200}, headers: {X-Version: 2, X-Env: {regex: '^p'}}}]\n")]
    public void Values_the_binder_reads_pass_the_schema(string yaml)
    {
        var (config, diagnostics) = ConfigLoader.Bind<GatewayConfig>(yaml, "values.yaml", _dir, _ => null);
        Assert.NotNull(config);
        Assert.Empty(diagnostics.Problems);
        AssertMatches(yaml);
    }

    [Theory]
    [InlineData("server: {port: 80.5}\n", "server.port")]
    [InlineData("server: {port: 99999999999}\n", "server.port")]
    [InlineData("server: {port: eighty}\n", "server.port")]
    [InlineData("server: {http2: yes}\n", "server.http2")]
    [InlineData("server: {timeout_secs: .inf}\n", "server.timeout_secs")]
    [InlineData("server: [8080]\n", "server")]
    [InlineData("routes: {path: /a}\n", "routes")]
    [InlineData("routes: [~]\n", "routes[0]")]
    [InlineData("routes: [{path: [/a, /b]}]\n", "routes[0].path")]
    [InlineData("auth: {jwt: {audience: {a: b}}}\n", "auth.jwt.audience")]
    [InlineData("logging: {level: loud}\n", "logging.level")]
    [InlineData("routes: [{path: /a, backend: 'http://127.0.0.1:1', auth: {methods: [password]}}]\n", "routes[0].auth.methods[0]")]
    [InlineData("routes: [{path: /a, mock: {status: 200}, headers: {X-Env: }}]\n", "routes[0].headers.X-Env")]
    [InlineData("auth: {api_key: {keys: {sk_secret_value_123456: }}}\n", "auth.api_key.keys[0]")]
    public void Values_the_loader_refuses_fail_the_schema(string yaml, string path)
    {
        Assert.Contains(ConfigLoader.LoadText(yaml, "bad.yaml", _dir, _ => null).Errors, p => p.Path == path);
        Assert.False(Evaluate(yaml).IsValid);
    }

    [Fact]
    public void Every_mapping_of_keys_refuses_unknown_keys()
    {
        var definitions = JsonNode.Parse(ConfigSchema.Text())!["$defs"]!.AsObject();
        var records = 0;
        foreach (var (name, definition) in definitions)
        {
            if (definition!["properties"] is not null)
            {
                records++;
                Assert.True(definition["additionalProperties"] is JsonValue v && !v.GetValue<bool>(), $"$defs/{name} lets unknown keys through");
            }
        }

        Assert.True(records >= 30, $"only {records} records in the schema");
    }

    /// <summary>
    /// The other direction: a document that writes every key the schema knows, in every shape the schema allows for it,
    /// binds without a single problem, so the schema offers no key and no shape the loader would refuse.
    /// </summary>
    [Theory]
    [InlineData(Shape.Native)]
    [InlineData(Shape.Text)]
    [InlineData(Shape.Empty)]
    public void Every_key_the_schema_knows_binds(Shape shape)
    {
        var root = JsonNode.Parse(ConfigSchema.Text())!.AsObject();
        var sampler = new Sampler(root["$defs"]!.AsObject(), shape);
        var document = sampler.Sample(root, nullable: false)!;
        var json = document.ToJsonString();

        var results = Schema.Evaluate(JsonDocument.Parse(json).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(results.IsValid, "the sample does not match the schema it was made from:\n" + string.Join('\n', Failures(results)));

        // JSON is YAML: the loader reads the document as it stands.
        var (config, diagnostics) = ConfigLoader.Bind<GatewayConfig>(json, "every-key.yaml", _dir, _ => null);
        Assert.NotNull(config);
        Assert.True(diagnostics.Problems.Count == 0, string.Join('\n', diagnostics.Problems));
        Assert.DoesNotContain(ConfigLoader.LoadText(json, "every-key.yaml", _dir, _ => null).Problems, p => p.Message.Contains("unknown key", StringComparison.Ordinal));

        // Every record of the schema was written with all its keys (as text, the records with a one-value form are that value).
        Assert.True(sampler.Keys >= 150, $"only {sampler.Keys} keys written");
        var records = root["$defs"]!.AsObject().Where(d => d.Value!["properties"] is not null).Select(d => d.Key).ToHashSet();
        if (shape == Shape.Text)
        {
            records.RemoveWhere(r => root["$defs"]![r]!["type"]!.AsArray().Any(t => (string?)t == "string"));
        }

        Assert.Equal(records.Order(StringComparer.Ordinal), sampler.Records.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Init_writes_the_schema_beside_the_config_and_never_overwrites_one()
    {
        var (code, stdout, _) = await GatewayProcess.RunAsync(_dir, "init", "--out", "conf/gw.yaml");
        Assert.Equal(0, code);
        Assert.Contains($"wrote conf/gw.yaml and conf/{SchemaCommand.FileName}", stdout, StringComparison.Ordinal);
        Assert.Equal(ConfigSchema.Text(), File.ReadAllText(Path.Combine(_dir, "conf", SchemaCommand.FileName)));

        // A schema already there is the user's (or another version's): kept, and the config is still written.
        File.WriteAllText(Path.Combine(_dir, "conf", SchemaCommand.FileName), "{}");
        var (again, againOut, _) = await GatewayProcess.RunAsync(_dir, "init", "--out", "conf/other.yaml");
        Assert.Equal(0, again);
        Assert.Contains("wrote conf/other.yaml (kept the gateway.schema.json already there", againOut, StringComparison.Ordinal);
        Assert.Equal("{}", File.ReadAllText(Path.Combine(_dir, "conf", SchemaCommand.FileName)));
        Assert.True(File.Exists(Path.Combine(_dir, "conf", "other.yaml")));
    }

    public enum Shape
    {
        /// <summary>Each value in its own JSON type: 7, 2.5, true, a mapping, a list.</summary>
        Native,

        /// <summary>Each value as text where the schema allows it: quoted numbers, references, one value for a list or record.</summary>
        Text,

        /// <summary>Every single value left empty (null), which keeps the default.</summary>
        Empty,
    }

    private static void AssertMatches(string yaml)
    {
        var results = Evaluate(yaml);
        Assert.True(results.IsValid, string.Join('\n', Failures(results)));
    }

    private static EvaluationResults Evaluate(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var json = YamlToJson(stream.Documents[0].RootNode)?.ToJsonString() ?? "null";
        return Schema.Evaluate(JsonDocument.Parse(json).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static IEnumerable<string> Failures(EvaluationResults results) =>
        (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"));

    /// <summary>
    /// A YAML node as the JSON an editor checks: plain scalars by YAML 1.2's core schema, as far as the binder reads them
    /// alike (null, true/false, decimal numbers); anything quoted or tagged stays text.
    /// </summary>
    private static JsonNode? YamlToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    obj[((YamlScalarNode)key).Value ?? ""] = YamlToJson(value);
                }

                return obj;
            case YamlSequenceNode sequence:
                return new JsonArray([.. sequence.Children.Select(YamlToJson)]);
            case YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Tag.IsEmpty: true } scalar:
                var text = scalar.Value ?? "";
                if (text is "" or "~" or "null" or "Null" or "NULL")
                {
                    return null;
                }

                if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
                {
                    return text[0] is 't' or 'T';
                }

                if (IntegerPattern().IsMatch(text) && decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return integer;
                }

                if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                {
                    return number;
                }

                return text;
            case YamlScalarNode scalar:
                return scalar.Value ?? "";
            default:
                throw new InvalidOperationException($"unexpected YAML node {node.NodeType}");
        }
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    /// <summary>Writes a value for a schema: every key of every mapping, one item of every list, one entry of every map.</summary>
    private sealed class Sampler(JsonObject definitions, Shape shape)
    {
        public int Keys { get; private set; }

        public HashSet<string> Records { get; } = new(StringComparer.Ordinal);

        public JsonNode? Sample(JsonObject schema, bool nullable, int depth = 0)
        {
            Assert.True(depth < 32, "the schema nests deeper than any config");
            var target = schema;
            var name = "";
            if (schema["$ref"] is { } pointer)
            {
                name = ((string)pointer!)["#/$defs/".Length..];
                target = definitions[name]!.AsObject();
            }

            // A sibling "type" narrows the definition's (a list item is never empty).
            var types = TypesOf(schema["type"] ?? target["type"]);
            var leaf = target["properties"] is null && !types.Contains("array") && (!types.Contains("object") || target["additionalProperties"] is null);
            if (shape == Shape.Empty && nullable && leaf && types.Contains("null"))
            {
                return null;
            }

            var text = shape == Shape.Text;
            if (target["anyOf"] is JsonArray choices && choices[0]!["enum"] is JsonArray values)
            {
                var first = (string)values[0]!;
                return text ? $"${{SCHEMA_SAMPLE:-{first}}}" : first;
            }

            if (target["properties"] is JsonObject properties)
            {
                // A record with a one-value form (a header condition, an API key's name).
                if (text && types.Contains("string"))
                {
                    return "x";
                }

                Records.Add(name);
                var mapping = new JsonObject();
                foreach (var (key, value) in properties)
                {
                    Keys++;
                    mapping[key] = Sample(value!.AsObject(), nullable: true, depth + 1);
                }

                return mapping;
            }

            if (types.Contains("array"))
            {
                // One value where a list may be one value.
                return text && types.Contains("string")
                    ? "x"
                    : new JsonArray(Sample(target["items"]!.AsObject(), nullable: false, depth + 1));
            }

            if (types.Contains("object"))
            {
                return new JsonObject { ["k"] = Sample(target["additionalProperties"]!.AsObject(), nullable: true, depth + 1) };
            }

            if (target["pattern"] is not null)
            {
                if (types.Contains("integer"))
                {
                    return text ? "${SCHEMA_SAMPLE:-7}" : 7;
                }

                if (types.Contains("number"))
                {
                    return text ? " 2.5e0 " : 2.5;
                }

                if (types.Contains("boolean"))
                {
                    return text ? "True" : true;
                }
            }

            // A single value of text: a number is read as its text.
            Assert.Contains("string", types);
            return text ? 7 : "x";
        }

        private static HashSet<string> TypesOf(JsonNode? type) =>
            type is JsonArray list ? list.Select(t => (string)t!).ToHashSet() : [(string)type!];
    }
}
