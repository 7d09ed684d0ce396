using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.Support;

/// <summary>One HTTP/1.x response as it came off the wire (interim ones included).</summary>
public sealed record WireResponse(string Version, int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, long BodyLength, bool Chunked)
{
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The response says <c>Connection: close</c>.</summary>
    public bool SaysClose => HasToken("Connection", "close");

    public bool HasToken(string name, string token) => Headers
        .Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
        .SelectMany(h => h.Value.Split(',', StringSplitOptions.TrimEntries))
        .Any(t => string.Equals(t, token, StringComparison.OrdinalIgnoreCase));

    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A raw client connection (TCP_NODELAY) that writes bytes as given and reads responses one after another, framed as
/// RFC 9112 says: no body after HEAD, 1xx, 204 and 304; chunked; Content-Length; otherwise until the close. Every
/// read is guarded by a generous timeout, so a gateway that never answers fails the test instead of hanging it.
/// </summary>
public sealed class WireClient : IDisposable
{
    private readonly Socket _socket;
    private readonly TimeSpan _guard;
    private byte[] _data = new byte[64 * 1024];
    private int _start;
    private int _end;

    private WireClient(Socket socket, TimeSpan guard)
    {
        _socket = socket;
        _guard = guard;
        Stream = new NetworkStream(socket, ownsSocket: false);
    }

    public Socket Socket => _socket;

    public NetworkStream Stream { get; }

    /// <summary>Bytes received and not yet handed out as part of a response.</summary>
    public int Buffered => _end - _start;

    public static async Task<WireClient> ConnectAsync(int port, int? receiveBuffer = null, TimeSpan? guard = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBuffer is int size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new WireClient(socket, guard ?? TimeSpan.FromSeconds(15));
    }

    public async Task SendAsync(string text) => await SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(_guard);
        await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
    }

    /// <summary>Reads the next response (a 1xx too); <paramref name="toHead"/> says it answers a HEAD request.</summary>
    public async Task<WireResponse> ReadAsync(bool toHead = false, bool keepBody = true)
    {
        return await TryReadAsync(toHead, keepBody) ?? throw new IOException("the connection closed before a response; buffered: " + Buffered);
    }

    /// <summary>The next response, or null when the connection closes before its first byte.</summary>
    public async Task<WireResponse?> TryReadAsync(bool toHead = false, bool keepBody = true)
    {
        using var timeout = new CancellationTokenSource(_guard);
        var cancel = timeout.Token;
        int headEnd;
        while ((headEnd = IndexOfHeadEnd()) < 0)
        {
            if (!await FillAsync(cancel))
            {
                if (Buffered == 0)
                {
                    return null;
                }

                throw new IOException("the connection closed inside a response head: " + Encoding.ASCII.GetString(_data, _start, Buffered));
            }
        }

        var head = Encoding.ASCII.GetString(_data, _start, headEnd - _start);
        _start = headEnd + 4;
        var lines = head.Split("\r\n");
        var status = lines[0].Split(' ', 3);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var code = int.Parse(status[1], CultureInfo.InvariantCulture);
        var chunked = headers.Any(h => string.Equals(h.Key, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
            && h.Value.EndsWith("chunked", StringComparison.OrdinalIgnoreCase));
        var lengthHeader = headers.FirstOrDefault(h => string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        var body = new MemoryStream();
        long bodyLength = 0;
        void Take(int count)
        {
            if (keepBody)
            {
                body.Write(_data, _start, count);
            }

            bodyLength += count;
            _start += count;
        }

        if (toHead || code is < 200 or 204 or 304)
        {
            // No body.
        }
        else if (chunked)
        {
            while (true)
            {
                var line = await ReadLineAsync(cancel);
                var size = long.Parse(line.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while ((await ReadLineAsync(cancel)).Length > 0)
                    {
                        // Trailers are dropped.
                    }

                    break;
                }

                for (var left = size; left > 0;)
                {
                    if (Buffered == 0 && !await FillAsync(cancel))
                    {
                        throw new IOException("the connection closed inside a chunk");
                    }

                    var take = (int)Math.Min(left, Buffered);
                    Take(take);
                    left -= take;
                }

                if ((await ReadLineAsync(cancel)).Length != 0)
                {
                    throw new IOException("chunk data not followed by CRLF");
                }
            }
        }
        else if (lengthHeader is not null)
        {
            for (var left = long.Parse(lengthHeader, CultureInfo.InvariantCulture); left > 0;)
            {
                if (Buffered == 0 && !await FillAsync(cancel))
                {
                    throw new IOException($"the connection closed {left} bytes before the end of a Content-Length body");
                }

                var take = (int)Math.Min(left, Buffered);
                Take(take);
                left -= take;
            }
        }
        else
        {
            // Delimited by the close.
            while (true)
            {
                if (Buffered > 0)
                {
                    Take(Buffered);
                }

                if (!await FillAsync(cancel))
                {
                    break;
                }
            }
        }

        return new WireResponse(status[0], code, headers, body.ToArray(), bodyLength, chunked);
    }

    /// <summary>
    /// True when the peer closes (or resets) the connection before sending anything more; false when bytes arrive.
    /// </summary>
    public async Task<bool> ClosesWithoutMoreAsync()
    {
        if (Buffered > 0)
        {
            return false;
        }

        using var timeout = new CancellationTokenSource(_guard);
        return !await FillAsync(timeout.Token);
    }

    private int IndexOfHeadEnd() => _data.AsSpan(_start, Buffered).IndexOf("\r\n\r\n"u8) is var at and >= 0 ? _start + at : -1;

    private async Task<string> ReadLineAsync(CancellationToken cancel)
    {
        int at;
        while ((at = _data.AsSpan(_start, Buffered).IndexOf("\r\n"u8)) < 0)
        {
            if (!await FillAsync(cancel))
            {
                throw new IOException("the connection closed inside a line");
            }
        }

        var line = Encoding.ASCII.GetString(_data, _start, at);
        _start += at + 2;
        return line;
    }

    /// <summary>Reads more bytes into the buffer; false at the end of the stream (a reset counts as the end).</summary>
    private async Task<bool> FillAsync(CancellationToken cancel)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        if (_end == _data.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_data, _start, _data, 0, Buffered);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _data, _data.Length * 2);
            }
        }

        int read;
        try
        {
            read = await _socket.ReceiveAsync(_data.AsMemory(_end), SocketFlags.None, cancel);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return false;
        }

        _end += read;
        return read > 0;
    }

    public void Dispose()
    {
        Stream.Dispose();
        _socket.Dispose();
    }
}
