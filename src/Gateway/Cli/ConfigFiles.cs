using Gateway.Configuration;

namespace Gateway.Cli;

/// <summary>Loads a config for the offline verbs; problems go to stderr.</summary>
internal static class ConfigFiles
{
    public static RuntimeConfig? LoadOrReport(string path)
    {
        var loaded = ConfigLoader.LoadFile(path);
        if (loaded.HasErrors)
        {
            foreach (var problem in loaded.Problems)
            {
                Console.Error.WriteLine(problem);
            }

            return null;
        }

        return ConfigCompiler.Compile(loaded.Config!, 1, TimeProvider.System.GetUtcNow());
    }
}
