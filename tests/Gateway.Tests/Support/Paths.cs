namespace Gateway.Tests.Support;

/// <summary>Locations of the repository and of the shared folder beside it.</summary>
public static class Paths
{
    public static string Repository { get; } = FindRepository();

    public static string ReferenceConfigs => Path.Combine(Repository, "..", "shared", "reference-configs");

    /// <summary>
    /// Skips the test when the shared folder is not beside this checkout (a clone of its own), with a one-line reason;
    /// fails instead when <c>CI=true</c>, where the folder is always there.
    /// </summary>
    public static void RequireReferenceConfigs()
    {
        if (Directory.Exists(ReferenceConfigs))
        {
            return;
        }

        var reason = $"the earlier gateway's configs are not beside this checkout ({Path.GetFullPath(ReferenceConfigs)})";
        Assert.False(Environment.GetEnvironmentVariable("CI") == "true", reason);
        Skip.If(true, reason);
    }

    /// <summary>The built gateway entry assembly, run as <c>dotnet gateway.dll</c>.</summary>
    public static string GatewayDll => Path.Combine(AppContext.BaseDirectory, "gateway.dll");

    private static string FindRepository()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gateway.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Gateway.slnx not found above " + AppContext.BaseDirectory);
    }
}
