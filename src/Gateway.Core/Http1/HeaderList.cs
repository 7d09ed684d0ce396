using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Http1;

/// <summary>
/// The headers of one message on the gateway's own codec: names in the order first seen, each with all its values
/// (repeated lines join into one entry, as HTTP says they mean one list). Kept as two small arrays searched in
/// order: a message has a few dozen headers at most, so that beats hashing, and the arrays are reused from one
/// request of a connection to the next.
/// </summary>
internal sealed class HeaderList : IHeaderDictionary
{
    private string[] _names = new string[16];
    private StringValues[] _values = new StringValues[16];
    private int _count;
    private bool _readOnly;

    public int Count => _count;

    public bool IsReadOnly => _readOnly;

    public long? ContentLength
    {
        get
        {
            var value = this[HeaderNames.ContentLength];
            return value.Count == 1 && long.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length) ? length : null;
        }

        set => this[HeaderNames.ContentLength] = value is long length ? length.ToString(CultureInfo.InvariantCulture) : StringValues.Empty;
    }

    public ICollection<string> Keys => _names[.._count];

    public ICollection<StringValues> Values => _values[.._count];

    /// <summary>The values of a name, or empty (never throws).</summary>
    public StringValues this[string key]
    {
        get => IndexOf(key) is var i and >= 0 ? _values[i] : StringValues.Empty;
        set
        {
            ThrowIfReadOnly();
            var i = IndexOf(key);
            if (value.Count == 0)
            {
                if (i >= 0)
                {
                    RemoveAt(i);
                }

                return;
            }

            if (i >= 0)
            {
                _values[i] = value;
            }
            else
            {
                Insert(key, value);
            }
        }
    }

    StringValues IDictionary<string, StringValues>.this[string key]
    {
        get => IndexOf(key) is var i and >= 0 ? _values[i] : throw new KeyNotFoundException(key);
        set => this[key] = value;
    }

    /// <summary>Adds one header line as the parser read it (a repeated name gets another value).</summary>
    public void Append(string name, string value)
    {
        var i = IndexOf(name);
        if (i >= 0)
        {
            _values[i] = StringValues.Concat(_values[i], value);
            return;
        }

        Insert(name, value);
    }

    /// <summary>How many header lines of this name (0 when absent).</summary>
    public int CountOf(string name) => IndexOf(name) is var i and >= 0 ? _values[i].Count : 0;

    /// <summary>Forgets every header, keeping the arrays for the next message.</summary>
    public void Reset()
    {
        Array.Clear(_names, 0, _count);
        Array.Clear(_values, 0, _count);
        _count = 0;
        _readOnly = false;
    }

    /// <summary>No more changes (a response whose head has gone out).</summary>
    public void Freeze() => _readOnly = true;

    public void Add(string key, StringValues value)
    {
        ThrowIfReadOnly();
        if (IndexOf(key) >= 0)
        {
            throw new ArgumentException($"The header {key} is already present.", nameof(key));
        }

        Insert(key, value);
    }

    public void Add(KeyValuePair<string, StringValues> item) => Add(item.Key, item.Value);

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool Contains(KeyValuePair<string, StringValues> item) =>
        IndexOf(item.Key) is var i and >= 0 && StringValues.Equals(_values[i], item.Value);

    public bool Remove(string key)
    {
        ThrowIfReadOnly();
        var i = IndexOf(key);
        if (i < 0)
        {
            return false;
        }

        RemoveAt(i);
        return true;
    }

    public bool Remove(KeyValuePair<string, StringValues> item) => Contains(item) && Remove(item.Key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out StringValues value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _values[i] : StringValues.Empty;
        return i >= 0;
    }

    public void Clear()
    {
        ThrowIfReadOnly();
        Reset();
    }

    public void CopyTo(KeyValuePair<string, StringValues>[] array, int arrayIndex)
    {
        for (var i = 0; i < _count; i++)
        {
            array[arrayIndex + i] = new(_names[i], _values[i]);
        }
    }

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, StringValues>> IEnumerable<KeyValuePair<string, StringValues>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The name as stored and its values, by position (the codec writes heads in order).</summary>
    internal (string Name, StringValues Values) At(int index) => (_names[index], _values[index]);

    private int IndexOf(string name)
    {
        var names = _names;
        for (var i = 0; i < _count; i++)
        {
            var candidate = names[i];
            if (ReferenceEquals(candidate, name) || (candidate.Length == name.Length && string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase)))
            {
                return i;
            }
        }

        return -1;
    }

    private void Insert(string name, StringValues value)
    {
        if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _values, _count * 2);
        }

        _names[_count] = name;
        _values[_count] = value;
        _count++;
    }

    private void RemoveAt(int index)
    {
        _count--;
        Array.Copy(_names, index + 1, _names, index, _count - index);
        Array.Copy(_values, index + 1, _values, index, _count - index);
        _names[_count] = null!;
        _values[_count] = default;
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new InvalidOperationException("Headers are read-only: the response has already started.");
        }
    }

    /// <summary>Walks the headers without allocating.</summary>
    public struct Enumerator(HeaderList list) : IEnumerator<KeyValuePair<string, StringValues>>
    {
        private int _index = -1;

        public readonly KeyValuePair<string, StringValues> Current => new(list._names[_index], list._values[_index]);

        readonly object IEnumerator.Current => Current;

        public bool MoveNext() => ++_index < list._count;

        public void Reset() => _index = -1;

        public readonly void Dispose()
        {
        }
    }
}
