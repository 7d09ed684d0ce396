using System.Buffers;

namespace Gateway.Logging;

/// <summary>
/// The one writer of log lines (application and access log) to the output stream. A request thread copies its line into
/// a buffer of its own (no shared lock, no allocation per line); one dedicated thread collects every thread's lines in
/// batches and writes them, so a slow terminal or pipe never blocks a request. The writer is woken once per batch (by
/// the first line after it went idle), then lets lines gather for <see cref="BatchDelay"/>: queuing a line costs no
/// thread wake-up, and the writer never runs on the thread pool, whose workers spin after every item they are woken
/// for. Lines of one thread keep their order; lines of different threads are ordered within a batch by thread. What
/// waits is bounded (<see cref="MaxPendingBytes"/>); beyond it lines are dropped and counted.
/// </summary>
internal sealed class LogSink : IAsyncDisposable
{
    /// <summary>How long the writer lets lines gather after the first one arrives (the most a line waits).</summary>
    public static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>The most bytes of lines waiting to be written; lines beyond it are dropped.</summary>
    public const long MaxPendingBytes = 16 * 1024 * 1024;

    private const int ChunkBytes = 64 * 1024;

    private readonly Stream _output;
    private readonly ThreadLocal<LineBuffer> _buffers = new(static () => new LineBuffer(), trackAllValues: true);
    private readonly Thread _writer;
    private readonly AutoResetEvent _wake = new(false);
    private readonly ManualResetEvent _closing = new(false);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _pending;
    private long _dropped;
    private int _idle = 1;
    private volatile bool _closed;

    public LogSink(Stream output)
    {
        // Lines are gathered and written in large blocks: one system call per batch, not per line.
        _output = new BufferedStream(output, ChunkBytes);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "gateway log writer" };
        _writer.Start();
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line; the newline is added here.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        var size = line.Length + 1;
        if (_closed || Interlocked.Add(ref _pending, size) > MaxPendingBytes)
        {
            if (!_closed)
            {
                Interlocked.Add(ref _pending, -size);
            }

            Interlocked.Increment(ref _dropped);
            return;
        }

        var buffer = _buffers.Value!;
        lock (buffer)
        {
            buffer.Append(line);
        }

        // Only the first line after the writer went idle wakes it; the rest of the batch rides along.
        if (Volatile.Read(ref _idle) == 1 && Interlocked.Exchange(ref _idle, 0) == 1)
        {
            try
            {
                _wake.Set();
            }
            catch (ObjectDisposedException)
            {
                // Queued in the instant the sink closed: the writer is gone, and so is the line.
            }
        }
    }

    private void WriteLoop()
    {
        var staging = new List<(byte[] Chunk, int Length)>();
        try
        {
            var closing = false;
            while (!closing)
            {
                _wake.WaitOne();
                // Disposing stops new lines before it sets this: once it is seen, one more collection writes the last ones.
                closing = _closing.WaitOne(BatchDelay);
                // Idle again before collecting: a line queued from now on wakes the next batch, one queued before is written now.
                Volatile.Write(ref _idle, 1);
                foreach (var buffer in _buffers.Values)
                {
                    lock (buffer)
                    {
                        buffer.TakeInto(staging);
                    }
                }

                WriteOut(staging);
            }
        }
        finally
        {
            _finished.TrySetResult();
        }
    }

    private void WriteOut(List<(byte[] Chunk, int Length)> staging)
    {
        var failed = false;
        long written = 0;
        foreach (var (chunk, length) in staging)
        {
            written += length;
            if (!failed)
            {
                try
                {
                    _output.Write(chunk, 0, length);
                }
                catch (IOException)
                {
                    // The reader of our output went away (closed pipe): the batch is lost, the lines keep moving.
                    failed = true;
                }
            }

            ArrayPool<byte>.Shared.Return(chunk);
        }

        staging.Clear();
        Interlocked.Add(ref _pending, -written);
        try
        {
            _output.Flush();
        }
        catch (IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        _closing.Set();
        _wake.Set();
        await _finished.Task.ConfigureAwait(false);
        _wake.Dispose();
        _closing.Dispose();
        _buffers.Dispose();
        try
        {
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The lines one thread has queued: full chunks in order, then the one being filled.</summary>
    private sealed class LineBuffer
    {
        private readonly List<(byte[] Chunk, int Length)> _full = [];
        private byte[]? _current;
        private int _length;

        public void Append(ReadOnlySpan<byte> line)
        {
            var size = line.Length + 1;
            if (_current is null || _length + size > _current.Length)
            {
                if (_current is not null && _length > 0)
                {
                    _full.Add((_current, _length));
                }
                else if (_current is not null)
                {
                    ArrayPool<byte>.Shared.Return(_current);
                }

                _current = ArrayPool<byte>.Shared.Rent(Math.Max(ChunkBytes, size));
                _length = 0;
            }

            line.CopyTo(_current.AsSpan(_length));
            _current[_length + line.Length] = (byte)'\n';
            _length += size;
        }

        /// <summary>Hands everything queued to the writer; the thread starts a new chunk with its next line.</summary>
        public void TakeInto(List<(byte[] Chunk, int Length)> staging)
        {
            staging.AddRange(_full);
            _full.Clear();
            if (_current is not null && _length > 0)
            {
                staging.Add((_current, _length));
                _current = null;
                _length = 0;
            }
        }
    }
}
