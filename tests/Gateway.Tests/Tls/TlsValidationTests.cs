using Gateway.Configuration;

namespace Gateway.Tests.Tls;

/// <summary>What <c>validate</c> says about a tls block: located errors for files that cannot serve, warnings for dates.</summary>
public sealed class TlsValidationTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    public void Dispose() => _pki.Dispose();

    private ConfigLoadResult Load(string tls) =>
        ConfigLoader.LoadText("routes:\n  - {path: /a, mock: {status: 200}}\n" + tls, "tls.yaml", _pki.Directory);

    [Fact]
    public void A_valid_pair_relative_to_the_config_loads_and_is_made_absolute()
    {
        _pki.WritePem(_pki.IssueServer("localhost"), "server");
        var result = Load("tls:\n  cert_path: server.crt\n  key_path: server.key\n");
        Assert.False(result.HasErrors, string.Join("\n", result.Problems));
        Assert.Empty(result.Warnings);
        Assert.Equal(Path.Combine(_pki.Directory, "server.crt"), result.Config!.Tls!.CertPath);
    }

    [Fact]
    public void Missing_files_are_errors_at_their_keys()
    {
        var result = Load("tls:\n  cert_path: nope.crt\n  key_path: nope.key\n  enable_mtls: true\n  ca_cert_path: nope-ca.pem\n");
        var paths = result.Errors.Select(e => e.Path).ToList();
        Assert.Contains("tls.cert_path", paths);
        Assert.Contains("tls.key_path", paths);
        Assert.Contains("tls.ca_cert_path", paths);
        Assert.All(result.Errors, e => Assert.True(e.Line > 0));
    }

    [Fact]
    public void A_key_that_does_not_match_the_certificate_is_an_error()
    {
        var (cert, _) = _pki.WritePem(_pki.IssueServer("localhost"), "one");
        var (_, otherKey) = _pki.WritePem(_pki.IssueServer("localhost"), "two");
        var result = Load($"tls:\n  cert_path: {cert}\n  key_path: {otherKey}\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal("tls.cert_path", error.Path);
        Assert.Contains("does not match", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_certificate_is_a_warning()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost", notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1)), "old");
        var result = Load($"tls:\n  cert_path: {cert}\n  key_path: {key}\n");
        Assert.False(result.HasErrors);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("tls.cert_path", warning.Path);
        Assert.Contains("expired", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sni_entries_need_host_names_and_loadable_files()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("a.test"), "a");
        var result = Load($"tls:\n  certificates:\n    - {{hosts: [], cert_path: {cert}, key_path: {key}}}\n    - {{hosts: ['a.*.test'], cert_path: missing.crt, key_path: {key}}}\n");
        var paths = result.Errors.Select(e => e.Path).ToList();
        Assert.Contains("tls.certificates[0].hosts", paths);
        Assert.Contains("tls.certificates[1].hosts", paths);
        Assert.Contains("tls.certificates[1].cert_path", paths);
    }

    [Fact]
    public void A_crl_that_is_not_one_is_an_error()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        var result = Load($"tls:\n  cert_path: {cert}\n  key_path: {key}\n  enable_mtls: true\n  ca_cert_path: {_pki.CaPath}\n  crl_path: {cert}\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal("tls.crl_path", error.Path);
    }
}
