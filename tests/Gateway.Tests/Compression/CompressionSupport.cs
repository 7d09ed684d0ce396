using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Compression;

/// <summary>Bodies, backends and decoders the compression tests share.</summary>
internal static class CompressionSupport
{
    /// <summary>A JSON-like body of about <paramref name="bytes"/> bytes: compressible, but not one repeated run.</summary>
    public static byte[] Body(int bytes, int seed = 7)
    {
        var random = new Random(seed);
        var text = new StringBuilder(bytes + 128);
        text.Append('[');
        while (text.Length < bytes)
        {
            text.Append("{\"id\":").Append(random.Next(1_000_000)).Append(",\"name\":\"item-").Append(random.Next(10_000))
                .Append("\",\"price\":").Append(random.Next(100_000) / 100.0).Append(",\"tags\":[\"a").Append(random.Next(50)).Append("\"]},");
        }

        text.Length = bytes - 1;
        text.Append(']');
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>A backend answering <paramref name="body"/> with a Content-Length, or chunked in 16 KiB writes each flushed.</summary>
    public static Task<TestBackend> StartAsync(byte[] body, bool chunked, string contentType = "application/json", Action<HttpResponse>? headers = null) =>
        TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = contentType;
            headers?.Invoke(context.Response);
            if (!chunked)
            {
                context.Response.ContentLength = body.Length;
                await context.Response.Body.WriteAsync(body);
                return;
            }

            for (var offset = 0; offset < body.Length; offset += 16 * 1024)
            {
                await context.Response.Body.WriteAsync(body.AsMemory(offset, Math.Min(16 * 1024, body.Length - offset)));
                await context.Response.Body.FlushAsync();
            }
        });

    public static string Route(string backend, string compression = "compression: {}") => $$"""
        {{compression}}
        routes:
          - {id: api, path: /api/*rest, backend: "{{backend}}"}
        """;

    public static byte[] Decode(string coding, byte[] encoded)
    {
        using var input = new MemoryStream(encoded);
        using Stream decoder = coding switch
        {
            "gzip" => new GZipStream(input, CompressionMode.Decompress),
            "br" => new BrotliStream(input, CompressionMode.Decompress),
            "zstd" => new ZstdSharp.DecompressionStream(input),
            _ => throw new ArgumentException(coding),
        };
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }

    public static async Task<HttpResponseMessage> GetAsync(HttpClient client, string url, string? acceptEncoding, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, url)
        {
            Version = client.DefaultRequestVersion,
            VersionPolicy = client.DefaultVersionPolicy,
        };
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static string? ContentEncoding(HttpResponseMessage response) =>
        response.Content.Headers.TryGetValues("Content-Encoding", out var values) ? string.Join(",", values) : null;

    /// <summary>Every name in the response's Vary, as sent (one entry per name).</summary>
    public static string[] Vary(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Vary", out var values)
            ? [.. values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))]
            : [];
}
