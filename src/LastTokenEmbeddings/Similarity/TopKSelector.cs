using System.Numerics;
using System.Runtime.CompilerServices;

namespace LastTokenEmbeddings.Similarity;

/// <summary>
/// Keeps the <c>k</c> best (highest score, then lowest index) of a stream of scored indices in a bounded min-heap:
/// O(n log k) worst case and nearly O(n) in practice, since most candidates lose to the current worst at once.
/// Candidates must be offered in increasing index order: an equal score then never displaces a kept one.
/// </summary>
internal sealed class TopKSelector<TScore>
    where TScore : struct, IComparisonOperators<TScore, TScore, bool>
{
    private readonly TScore[] _scores;
    private readonly int[] _indices;
    private int _count;

    public TopKSelector(int capacity)
    {
        _scores = new TScore[capacity];
        _indices = new int[capacity];
    }

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Offer(TScore score, int index)
    {
        if (_count == _scores.Length)
        {
            if (score > _scores[0])
            {
                ReplaceWorst(score, index);
            }
        }
        else
        {
            Push(score, index);
        }
    }

    /// <summary>The kept hits, best first.</summary>
    public SearchHit<TScore>[] ToSortedHits()
    {
        var hits = new SearchHit<TScore>[_count];
        for (int i = 0; i < hits.Length; i++)
        {
            hits[i] = new SearchHit<TScore>(_indices[i], _scores[i]);
        }

        Array.Sort(hits, CompareBestFirst);
        return hits;
    }

    /// <summary>Orders hits by score descending, then index ascending.</summary>
    public static int CompareBestFirst(SearchHit<TScore> a, SearchHit<TScore> b) =>
        a.Score > b.Score ? -1 : a.Score < b.Score ? 1 : a.Index.CompareTo(b.Index);

    // a is worse than b: lower score, or the same score at a higher index.
    private bool IsWorse(int a, int b) =>
        _scores[a] < _scores[b] || (_scores[a] == _scores[b] && _indices[a] > _indices[b]);

    private void Push(TScore score, int index)
    {
        int child = _count++;
        _scores[child] = score;
        _indices[child] = index;
        while (child > 0)
        {
            int parent = (child - 1) >> 1;
            if (!IsWorse(child, parent))
            {
                break;
            }

            Swap(child, parent);
            child = parent;
        }
    }

    private void ReplaceWorst(TScore score, int index)
    {
        _scores[0] = score;
        _indices[0] = index;
        int parent = 0;
        while (true)
        {
            int left = (2 * parent) + 1;
            if (left >= _count)
            {
                break;
            }

            int worst = left + 1 < _count && IsWorse(left + 1, left) ? left + 1 : left;
            if (!IsWorse(worst, parent))
            {
                break;
            }

            Swap(worst, parent);
            parent = worst;
        }
    }

    private void Swap(int a, int b)
    {
        (_scores[a], _scores[b]) = (_scores[b], _scores[a]);
        (_indices[a], _indices[b]) = (_indices[b], _indices[a]);
    }
}
