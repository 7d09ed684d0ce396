using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Gateway.Observability.Metrics;

/// <summary>
/// Collects the measurements of this gateway's meters (every meter made by its <see cref="IMeterFactory"/>: its own
/// and Kestrel's) and of the process-wide .NET meters (runtime, HttpClient, DNS) with one <see cref="MeterListener"/>,
/// and writes them in the Prometheus text format on demand. Recording allocates nothing once a series exists: the
/// series is found by its tags in a <see cref="SeriesTable{TSeries}"/> and updated with interlocked operations.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type of <see cref="Scrape"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Meters that are not made per application: the runtime's and HttpClient's, exported from every gateway.</summary>
    private static readonly HashSet<string> ProcessMeters = ["System.Runtime", "System.Net.Http", "System.Net.NameResolution"];

    private readonly IMeterFactory _factory;
    private readonly MeterListener _listener;
    private readonly Lock _gate = new();
    private readonly List<InstrumentState> _instruments = [];
    private long _generation;

    public PrometheusExporter(IMeterFactory factory)
    {
        _factory = factory;
        _listener = new MeterListener
        {
            InstrumentPublished = Published,
            MeasurementsCompleted = static (_, state) => ((InstrumentState)state!).Owner.Remove((InstrumentState)state!),
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentState)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Every series now, in the Prometheus text exposition format (version 0.0.4), UTF-8.</summary>
    public byte[] Scrape()
    {
        lock (_gate)
        {
            Volatile.Write(ref _generation, _generation + 1);
            _listener.RecordObservableInstruments();
            var text = new StringBuilder(16 * 1024);
            var families = new SortedDictionary<string, List<InstrumentState>>(StringComparer.Ordinal);
            foreach (var instrument in _instruments)
            {
                if (!families.TryGetValue(instrument.Name, out var list))
                {
                    families[instrument.Name] = list = [];
                }

                if (list.Count == 0 || list[0].Kind == instrument.Kind)
                {
                    list.Add(instrument);
                }
            }

            foreach (var members in families.Values)
            {
                var written = false;
                foreach (var member in members)
                {
                    member.Write(text, ref written, _generation);
                }
            }

            return Encoding.UTF8.GetBytes(text.ToString());
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Published(Instrument instrument, MeterListener listener)
    {
        var meter = instrument.Meter;
        if (!ReferenceEquals(meter.Scope, _factory) && !(meter.Scope is null && ProcessMeters.Contains(meter.Name)))
        {
            return;
        }

        var state = new InstrumentState(this, instrument);
        lock (_gate)
        {
            _instruments.Add(state);
        }

        listener.EnableMeasurementEvents(instrument, state);
    }

    private void Remove(InstrumentState state)
    {
        lock (_gate)
        {
            _instruments.Remove(state);
        }
    }

    private enum InstrumentKind
    {
        /// <summary>A sum that only grows (Counter).</summary>
        Counter,

        /// <summary>A cumulative total reported whole at each collection (ObservableCounter).</summary>
        ObservedCounter,

        /// <summary>A sum that goes up and down (UpDownCounter).</summary>
        UpDown,

        /// <summary>The last value (Gauge, ObservableGauge, ObservableUpDownCounter).</summary>
        Last,

        /// <summary>Observed only at collection (ObservableGauge, ObservableUpDownCounter).</summary>
        ObservedLast,

        Histogram,
    }

    private sealed class InstrumentState
    {
        private readonly SeriesTable<Series> _series;
        private readonly double[] _bounds;

        public InstrumentState(PrometheusExporter owner, Instrument instrument)
        {
            Owner = owner;
            Kind = KindOf(instrument);
            Name = PrometheusNames.Of(instrument.Name, instrument.Unit, Kind is InstrumentKind.Counter or InstrumentKind.ObservedCounter, Kind == InstrumentKind.Histogram);
            Help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
            _bounds = Kind == InstrumentKind.Histogram ? BucketsOf(instrument) : [];
            var buckets = _bounds.Length + 1;
            _series = new SeriesTable<Series>(_ => new Series(Kind == InstrumentKind.Histogram ? buckets : 0));
        }

        public PrometheusExporter Owner { get; }

        public InstrumentKind Kind { get; }

        public string Name { get; }

        public string Help { get; }

        public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = _series.Get(tags);
            switch (Kind)
            {
                case InstrumentKind.Counter or InstrumentKind.UpDown:
                    Interlocked.Add(ref series.Long, value);
                    break;
                case InstrumentKind.Histogram:
                    series.Observe(_bounds, value);
                    break;
                default:
                    series.Set(value, Volatile.Read(ref Owner._generation));
                    break;
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = _series.Get(tags);
            switch (Kind)
            {
                case InstrumentKind.Counter or InstrumentKind.UpDown:
                    Series.Add(ref series.Double, value);
                    break;
                case InstrumentKind.Histogram:
                    series.Observe(_bounds, value);
                    break;
                default:
                    series.Set(value, Volatile.Read(ref Owner._generation));
                    break;
            }
        }

        public void Write(StringBuilder text, ref bool written, long generation)
        {
            var observed = Kind is InstrumentKind.ObservedCounter or InstrumentKind.ObservedLast;
            foreach (var (tags, series) in _series.Snapshot())
            {
                if (observed && Volatile.Read(ref series.Generation) != generation)
                {
                    // Not reported by this collection's callback: the thing it measured is gone.
                    continue;
                }

                if (!written)
                {
                    written = true;
                    text.Append("# HELP ").Append(Name).Append(' ');
                    PrometheusNames.AppendHelp(text, Help);
                    text.Append("\n# TYPE ").Append(Name).Append(' ').Append(Kind switch
                    {
                        InstrumentKind.Counter or InstrumentKind.ObservedCounter => "counter",
                        InstrumentKind.Histogram => "histogram",
                        _ => "gauge",
                    }).Append('\n');
                }

                if (Kind == InstrumentKind.Histogram)
                {
                    WriteHistogram(text, tags, series);
                    continue;
                }

                var value = Kind is InstrumentKind.Counter or InstrumentKind.UpDown
                    ? Volatile.Read(ref series.Long) + Volatile.Read(ref series.Double)
                    : Volatile.Read(ref series.Double);
                text.Append(Name);
                PrometheusNames.AppendLabels(text, tags, null, null);
                text.Append(' ');
                PrometheusNames.AppendValue(text, value);
                text.Append('\n');
            }
        }

        private void WriteHistogram(StringBuilder text, KeyValuePair<string, object?>[] tags, Series series)
        {
            long cumulative = 0;
            for (var i = 0; i <= _bounds.Length; i++)
            {
                cumulative += Volatile.Read(ref series.Buckets[i]);
                text.Append(Name).Append("_bucket");
                PrometheusNames.AppendLabels(text, tags, "le", i < _bounds.Length ? PrometheusNames.Format(_bounds[i]) : "+Inf");
                text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            text.Append(Name).Append("_sum");
            PrometheusNames.AppendLabels(text, tags, null, null);
            text.Append(' ');
            PrometheusNames.AppendValue(text, Volatile.Read(ref series.Double));
            text.Append('\n').Append(Name).Append("_count");
            PrometheusNames.AppendLabels(text, tags, null, null);
            // The count is the bucket total, so that it always agrees with +Inf.
            text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        private static InstrumentKind KindOf(Instrument instrument)
        {
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            return generic switch
            {
                _ when generic == typeof(Counter<>) => InstrumentKind.Counter,
                _ when generic == typeof(ObservableCounter<>) => InstrumentKind.ObservedCounter,
                _ when generic == typeof(UpDownCounter<>) => InstrumentKind.UpDown,
                _ when generic == typeof(Histogram<>) => InstrumentKind.Histogram,
                _ when generic == typeof(Gauge<>) => InstrumentKind.Last,
                _ => InstrumentKind.ObservedLast,
            };
        }

        private static double[] BucketsOf(Instrument instrument)
        {
            // Durations get the gateway's buckets everywhere (100 µs to 30 s), so that every latency panel resolves the same.
            if (instrument.Unit == "s")
            {
                return MetricBuckets.Seconds;
            }

            return instrument switch
            {
                Histogram<long> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds.Select(static b => (double)b)],
                Histogram<int> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds.Select(static b => (double)b)],
                Histogram<double> { Advice.HistogramBucketBoundaries: { } bounds } => [.. bounds],
                _ when instrument.Unit == "By" => MetricBuckets.Bytes,
                _ => MetricBuckets.Default,
            };
        }
    }

    private sealed class Series(int buckets)
    {
        public long Long;
        public double Double;
        public long Generation;
        public readonly long[] Buckets = buckets == 0 ? [] : new long[buckets];

        public static void Add(ref double target, double value)
        {
            var current = Volatile.Read(ref target);
            while (true)
            {
                var seen = Interlocked.CompareExchange(ref target, current + value, current);
                if (seen.Equals(current))
                {
                    return;
                }

                current = seen;
            }
        }

        public void Set(double value, long generation)
        {
            Volatile.Write(ref Double, value);
            Volatile.Write(ref Generation, generation);
        }

        public void Observe(double[] bounds, double value)
        {
            var i = 0;
            while (i < bounds.Length && value > bounds[i])
            {
                i++;
            }

            Interlocked.Increment(ref Buckets[i]);
            Add(ref Double, value);
        }
    }
}
