using Gateway.Configuration;
using YamlDotNet.RepresentationModel;

namespace Gateway.Tests.Hosting;

/// <summary>
/// The deployment files agree with the gateway (no container engine or cluster here): the manifests parse, their
/// probes, ports and paths are the admin listener's, the config they ship loads, and the image runs a verb that works.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static List<YamlMappingNode> Manifests()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Paths.Repository, "deploy", "k8s", "gateway.yaml"))));
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = node is YamlSequenceNode list ? list[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)] : ((YamlMappingNode)node)[key];
        }

        return node;
    }

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    [Fact]
    public void Kubernetes_manifests_parse_and_match_the_gateway()
    {
        var docs = Manifests();
        var kinds = docs.Select(d => Text(d, "kind")).ToList();
        Assert.Equal(["ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"], kinds);

        // The shipped config loads (the admin token comes from the environment, as the Secret provides it).
        var configText = Text(docs[0], "data", "gateway.yaml");
        var loaded = ConfigLoader.LoadText(configText, "configmap", Paths.Repository, name => name == "ADMIN_TOKEN" ? new string('x', 40) : null);
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Problems));
        var config = loaded.Config!;

        var container = At(docs[2], "spec", "template", "spec", "containers", "0");
        var ports = ((YamlSequenceNode)At(container, "ports")).Select(p => (Text(p, "name"), int.Parse(Text(p, "containerPort"), System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Assert.Contains(("http", config.Server.Port), ports);
        Assert.Contains(("admin", config.Admin.Port), ports);
        // Probes reach the admin listener on the pod's address: it must not be loopback-only (that needs a token).
        Assert.Equal("0.0.0.0", config.Admin.Host);
        Assert.NotNull(config.Admin.Token);
        Assert.Equal("/readyz", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/healthz", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("admin", Text(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal(["run", "/etc/gateway/gateway.yaml"], ((YamlSequenceNode)At(container, "args")).Select(a => ((YamlScalarNode)a).Value!).ToList());

        // The grace period covers the drain and the preStop pause.
        var grace = int.Parse(Text(docs[2], "spec", "template", "spec", "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture);
        var pause = int.Parse(Text(container, "lifecycle", "preStop", "sleep", "seconds"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(grace > config.Server.ShutdownTimeoutSecs + pause);
        Assert.Equal("http", Text(docs[3], "spec", "ports", "0", "targetPort"));
    }

    [Fact]
    public async Task The_image_runs_the_default_config_with_the_admin_port_its_healthcheck_asks()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Paths.Repository, "Dockerfile"));
        Assert.Contains("CMD [\"run\", \"/etc/gateway/gateway.yaml\"]", dockerfile, StringComparison.Ordinal);
        Assert.Contains("USER $APP_UID", dockerfile, StringComparison.Ordinal);
        Assert.Contains("/dev/tcp/127.0.0.1/9901", dockerfile, StringComparison.Ordinal);
        Assert.Contains("GET /healthz", dockerfile, StringComparison.Ordinal);

        var loaded = ConfigLoader.LoadFile(Path.Combine(Paths.Repository, "config", "gateway.yaml"), _ => null);
        Assert.Equal(9901, loaded.Config!.Admin.Port);
        Assert.Equal(8080, loaded.Config.Server.Port);
        Assert.Contains("EXPOSE 8080", dockerfile, StringComparison.Ordinal);

        // The image's command, on the file the image copies.
        var (code, stdout, stderr) = await GatewayProcess.RunAsync(Paths.Repository, "validate", "config/gateway.yaml");
        Assert.True(code == 0, stdout + stderr);
    }
}
