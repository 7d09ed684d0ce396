using System.Collections;
using System.Diagnostics;
using Gateway.Observability;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Gateway.Tests.Observability;

/// <summary>
/// The gateway's spans as OpenTelemetry's in-memory exporter gets them. It listens to every gateway in the test process
/// (spans are found by the trace id a test chose, or by the backend that saw them), and decides nothing: the gateway
/// samples before a span exists, so a listener cannot change which requests have spans.
/// </summary>
internal sealed class SpanCollector : IDisposable
{
    private readonly LockedList _spans = new();
    private readonly TracerProvider _provider;

    public SpanCollector() =>
        _provider = Sdk.CreateTracerProviderBuilder().AddSource(TraceExport.SourceName).AddInMemoryExporter(_spans).Build()!;

    /// <summary>The ended spans of a trace once <paramref name="count"/> of them have ended (or what there is after 5 s).</summary>
    public async Task<Activity[]> TraceAsync(ActivityTraceId traceId, int count)
    {
        for (var i = 0; i < 250; i++)
        {
            var spans = _spans.Of(traceId);
            if (spans.Length >= count)
            {
                return spans;
            }

            await Task.Delay(20);
        }

        return _spans.Of(traceId);
    }

    /// <summary>The spans of a trace that ended so far.</summary>
    public Activity[] Ended(ActivityTraceId traceId) => _spans.Of(traceId);

    public void Dispose() => _provider.Dispose();

    private sealed class LockedList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public Activity[] Of(ActivityTraceId traceId)
        {
            lock (_items)
            {
                return [.. _items.Where(a => a.TraceId == traceId)];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item)
        {
            lock (_items)
            {
                return _items.Contains(item);
            }
        }

        public void CopyTo(Activity[] array, int arrayIndex)
        {
            lock (_items)
            {
                _items.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator()
        {
            lock (_items)
            {
                return _items.ToList().GetEnumerator();
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
