using System.Buffers;
using System.Threading.Channels;

namespace Gateway.Logging;

/// <summary>
/// The one writer of log lines (application and access log) to the output stream: lines are queued by
/// the request threads and written in batches by one background task, so a slow terminal or pipe never
/// blocks a request. The writer wakes at most once per <see cref="BatchDelay"/> under load, so that queuing a
/// line never costs a thread wake-up per request. The queue is bounded; when it is full, lines are dropped and counted.
/// </summary>
internal sealed class LogSink : IAsyncDisposable
{
    private readonly Channel<(byte[] Buffer, int Length)> _queue;
    private readonly Stream _output;
    private readonly Task _writer;
    private long _dropped;

    /// <summary>How long the writer lets lines gather after the first one arrives (the most a line waits).</summary>
    public static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(10);

    private readonly TimeProvider _time;

    public LogSink(Stream output, int capacity = 65_536, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        // Lines are gathered and written in large blocks: one system call per batch, not per line.
        _output = new BufferedStream(output, 64 * 1024);
        _queue = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line; the newline is added here.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(line.Length + 1);
        line.CopyTo(buffer);
        buffer[line.Length] = (byte)'\n';
        if (!_queue.Writer.TryWrite((buffer, line.Length + 1)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (!reader.Completion.IsCompleted)
            {
                await Task.WhenAny(Task.Delay(BatchDelay, _time), reader.Completion).ConfigureAwait(false);
            }

            try
            {
                while (reader.TryRead(out var item))
                {
                    await _output.WriteAsync(item.Buffer.AsMemory(0, item.Length)).ConfigureAwait(false);
                    ArrayPool<byte>.Shared.Return(item.Buffer);
                }

                await _output.FlushAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The reader of our output went away (closed pipe): keep draining so producers never block.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _output.FlushAsync().ConfigureAwait(false);
    }
}
