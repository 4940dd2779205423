using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// The BPE model of tokenizer.json, following <c>tokenizers/src/models/bpe/model.rs</c> and <c>word.rs</c>: each
/// character of a piece (with <c>continuing_subword_prefix</c> on all but the first and <c>end_of_word_suffix</c>
/// on the last) becomes a symbol, falling back to its <c>&lt;0xAB&gt;</c> byte tokens or to <c>unk_token</c>
/// (fused when <c>fuse_unk</c>), or vanishing when neither exists; then the pair with the lowest merge rank is
/// merged, leftmost first, until no pair has a merge. Immutable apart from a concurrent cache of short pieces.
/// </summary>
internal sealed class BpeModel
{
    /// <summary>Pieces at least this long (in UTF-8 bytes) are not cached, as in the Rust library.</summary>
    private const int MaxCachedLength = 256;

    private const int CacheCapacity = 10_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly int[]? _byteFallbackIds;
    private readonly int? _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly string? _prefix;
    private readonly string? _suffix;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheCount;

    public BpeModel(
        Dictionary<string, int> vocab,
        Dictionary<long, (int Rank, int NewId)> merges,
        int? unkId,
        bool fuseUnk,
        bool byteFallback,
        bool ignoreMerges,
        string? continuingSubwordPrefix,
        string? endOfWordSuffix)
    {
        _vocab = vocab;
        _merges = merges;
        _unkId = unkId;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        _prefix = continuingSubwordPrefix;
        _suffix = endOfWordSuffix;
        if (byteFallback)
        {
            // A character falls back to bytes only when all of its bytes have tokens; -1 marks a missing one.
            _byteFallbackIds = new int[256];
            for (int b = 0; b < 256; b++)
                _byteFallbackIds[b] = vocab.TryGetValue(ByteToken(b), out var id) ? id : -1;
        }
    }

    /// <summary>The token the model uses for byte <paramref name="b"/> under byte fallback: <c>&lt;0x0A&gt;</c>.</summary>
    public static string ByteToken(int b) => string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>");

    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>
    /// Hashes pair keys well: <see cref="long.GetHashCode"/> XORs the halves, which sends every (x, x) pair (the
    /// runs of spaces) to one bucket and made a megabyte of spaces take tens of seconds.
    /// </summary>
    public sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public void Tokenize(string piece, List<int> output)
    {
        if (piece.Length == 0)
            return;
        if (_ignoreMerges && _vocab.TryGetValue(piece, out var whole))
        {
            output.Add(whole);
            return;
        }
        if (_cache.TryGetValue(piece, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        var ids = MergeWord(piece);
        // A counter rather than ConcurrentDictionary.Count, which takes every lock of the dictionary.
        if (Volatile.Read(ref _cacheCount) < CacheCapacity && piece.Length < MaxCachedLength
            && Encoding.UTF8.GetByteCount(piece) < MaxCachedLength && _cache.TryAdd(piece, ids))
            Interlocked.Increment(ref _cacheCount);
        output.AddRange(ids);
    }

    private int[] MergeWord(string piece)
    {
        var runes = new List<Rune>(piece.Length);
        foreach (var rune in piece.EnumerateRunes())
            runes.Add(rune);
        var symbols = new List<Symbol>(runes.Count);
        // A pending unknown token: the library adds it only when the next known character (or the end) comes.
        bool pendingUnk = false;
        for (int r = 0; r < runes.Count; r++)
        {
            string text = runes[r].ToString();
            if (r > 0 && _prefix is not null) text = _prefix + text;
            if (r == runes.Count - 1 && _suffix is not null) text += _suffix;

            if (_vocab.TryGetValue(text, out var id))
            {
                if (pendingUnk)
                {
                    Add(symbols, _unkId!.Value);
                    pendingUnk = false;
                }
                Add(symbols, id);
            }
            else if (_byteFallbackIds is not null && TryByteFallback(text, symbols))
            {
                // Byte tokens go in at once; a pending unk stays pending, exactly as in model.rs.
            }
            else if (_unkId is { } unk)
            {
                if (pendingUnk && !_fuseUnk)
                    Add(symbols, unk);
                pendingUnk = true;
            }
            // No vocabulary entry, no byte tokens and no unk_token: the library drops the character.
        }
        if (pendingUnk)
            Add(symbols, _unkId!.Value);

        MergeAll(symbols);
        var result = new List<int>(symbols.Count);
        foreach (var symbol in symbols)
            if (symbol.Length != 0) result.Add(symbol.Id);
        return result.ToArray();
    }

    private bool TryByteFallback(string text, List<Symbol> symbols)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        foreach (var b in bytes)
            if (_byteFallbackIds![b] < 0) return false;
        foreach (var b in bytes)
            Add(symbols, _byteFallbackIds![b]);
        return true;
    }

    /// <summary>Appends a symbol; lengths only mark merged-away symbols (0), so every new one has length 1.</summary>
    private static void Add(List<Symbol> symbols, int id)
    {
        int count = symbols.Count;
        if (count > 0)
        {
            var last = symbols[count - 1];
            symbols[count - 1] = last with { Next = count };
        }
        symbols.Add(new Symbol(id, count - 1, -1, 1));
    }

    /// <summary>
    /// word.rs <c>merge_all</c>: a min-heap of candidate merges ordered by (rank, position); entries made stale by
    /// earlier merges are recognised and skipped.
    /// </summary>
    private void MergeAll(List<Symbol> symbols)
    {
        var queue = new MergeQueue(symbols.Count);
        for (int i = 0; i + 1 < symbols.Count; i++)
        {
            if (_merges.TryGetValue(PairKey(symbols[i].Id, symbols[i + 1].Id), out var merge))
                queue.Push(merge.Rank, i, merge.NewId);
        }

        while (queue.TryPop(out int position, out int newId))
        {
            var current = symbols[position];
            if (current.Length == 0 || current.Next == -1)
                continue;
            int nextPosition = current.Next;
            var right = symbols[nextPosition];
            if (!_merges.TryGetValue(PairKey(current.Id, right.Id), out var check) || check.NewId != newId)
                continue; // stale: one side has been merged with something else since

            current = new Symbol(newId, current.Previous, right.Next, current.Length + right.Length);
            symbols[position] = current;
            symbols[nextPosition] = right with { Length = 0 };
            if (right.Next > -1 && right.Next < symbols.Count)
                symbols[right.Next] = symbols[right.Next] with { Previous = position };

            if (current.Previous >= 0
                && _merges.TryGetValue(PairKey(symbols[current.Previous].Id, current.Id), out var before))
                queue.Push(before.Rank, current.Previous, before.NewId);
            if (current.Next >= 0 && current.Next < symbols.Count
                && _merges.TryGetValue(PairKey(current.Id, symbols[current.Next].Id), out var after))
                queue.Push(after.Rank, position, after.NewId);
        }
    }

    /// <summary>A binary min-heap of (rank, position) keys packed into one long, with the merge's new id.</summary>
    private struct MergeQueue(int capacity)
    {
        private (long Key, int NewId)[] _items = new (long, int)[Math.Max(capacity, 4)];
        private int _count;

        public void Push(int rank, int position, int newId)
        {
            if (_count == _items.Length)
                Array.Resize(ref _items, _items.Length * 2);
            long key = ((long)rank << 32) | (uint)position;
            int i = _count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (_items[parent].Key <= key) break;
                _items[i] = _items[parent];
                i = parent;
            }
            _items[i] = (key, newId);
        }

        public bool TryPop(out int position, out int newId)
        {
            if (_count == 0)
            {
                position = newId = 0;
                return false;
            }
            var top = _items[0];
            position = (int)(uint)top.Key;
            newId = top.NewId;
            var last = _items[--_count];
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= _count) break;
                if (child + 1 < _count && _items[child + 1].Key < _items[child].Key) child++;
                if (last.Key <= _items[child].Key) break;
                _items[i] = _items[child];
                i = child;
            }
            if (_count > 0) _items[i] = last;
            return true;
        }
    }

    private readonly record struct Symbol(int Id, int Previous, int Next, int Length);
}
