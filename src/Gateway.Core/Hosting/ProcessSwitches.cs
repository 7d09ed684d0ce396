namespace Gateway.Hosting;

/// <summary>
/// The process-level switches read from the environment: operational escape hatches, not configuration (the
/// config file describes traffic; these describe how this process runs it). Both are on unless set to 0, false or off.
/// </summary>
internal static class ProcessSwitches
{
    /// <summary>Plain-HTTP backends get the gateway's own HTTP/1.1 client; off sends every request through YARP.</summary>
    public const string Http1FastPath = "GATEWAY_HTTP1_FAST_PATH";

    /// <summary>Socket completions and request processing run on the I/O threads rather than hopping to the thread pool.</summary>
    public const string InlineIo = "GATEWAY_INLINE_IO";

    /// <summary>Overrides <c>server.http1_codec</c> (<c>native</c> or <c>kestrel</c>) for this process, for diagnosis and for the test matrix.</summary>
    public const string Http1Codec = "GATEWAY_HTTP1_CODEC";

    /// <summary>The HTTP/1.1 codec to serve with: the environment's override when it names one, else the config's.</summary>
    public static string Http1CodecFor(string configured)
    {
        var forced = Environment.GetEnvironmentVariable(Http1Codec)?.Trim().ToLowerInvariant();
        return forced is "native" or "kestrel" ? forced : configured;
    }

    private const string RuntimeInlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static bool IsOn(string name) => Environment.GetEnvironmentVariable(name)?.Trim().ToLowerInvariant() is not ("0" or "false" or "off");

    /// <summary>
    /// Turns inline I/O on for this process unless switched off; must run before the first socket is created (the
    /// runtime reads its setting once). Returns whether Kestrel should schedule requests inline too.
    /// </summary>
    public static bool EnableInlineIo()
    {
        if (!IsOn(InlineIo))
        {
            return false;
        }

        Environment.SetEnvironmentVariable(RuntimeInlineCompletions, "1");
        return true;
    }
}
