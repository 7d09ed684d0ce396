using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>Turns <c>redis://[user:password@]host[:port][/db]</c> (or <c>rediss://</c> for TLS) into client options.</summary>
internal static class RedisUrl
{
    public static ConfigurationOptions ToOptions(string url)
    {
        var uri = new Uri(url);
        var options = new ConfigurationOptions
        {
            Ssl = uri.Scheme == "rediss",
            ClientName = "gateway",
        };
        options.EndPoints.Add(uri.Host, uri.Port > 0 ? uri.Port : 6379);
        if (uri.UserInfo.Length > 0)
        {
            var parts = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
            if (parts.Length == 2)
            {
                options.User = parts[0].Length > 0 ? parts[0] : null;
                options.Password = parts[1];
            }
            else
            {
                options.Password = parts[0];
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && int.TryParse(path, out var database))
        {
            options.DefaultDatabase = database;
        }

        return options;
    }
}
