using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>The README's examples and the default config are working configs.</summary>
public sealed class ExampleConfigTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Paths.Repository, "examples"), "*.yaml").Order(StringComparer.Ordinal))
        {
            if (!file.EndsWith("-cases.yaml", StringComparison.Ordinal))
            {
                data.Add(Path.GetFileName(file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Example_validates_without_problems(string file)
    {
        var result = ConfigLoader.LoadFile(Path.Combine(Paths.Repository, "examples", file));
        Assert.Empty(result.Errors);

        // The only warnings an example may carry are the ones it demonstrates on purpose.
        Assert.All(result.Warnings, w => Assert.EndsWith(".allow_encoded_slashes", w.Path, StringComparison.Ordinal));
    }

    [Fact]
    public void Default_config_validates_without_problems()
    {
        var result = ConfigLoader.LoadFile(Path.Combine(Paths.Repository, "config", "gateway.yaml"), _ => null);
        Assert.Empty(result.Problems);
        Assert.Equal(8080, result.Config!.Server.Port);
    }

    [Fact]
    public async Task Routing_example_cases_pass()
    {
        var (code, stdout, _) = await GatewayProcess.RunAsync(Paths.Repository, "test", "examples/routing.yaml", "examples/routing-cases.yaml");
        Assert.Equal(0, code);
        Assert.Contains("10 passed, 0 failed", stdout, StringComparison.Ordinal);
    }
}
