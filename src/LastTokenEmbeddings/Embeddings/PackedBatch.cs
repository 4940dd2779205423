using static TorchSharp.torch;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// The tensors of one planned batch: token ids and sequence labels laid out in rows (several texts may share a
/// row), and the way back from rows to one right-padded row per text for pooling.
/// </summary>
internal sealed class PackedBatch
{
    private readonly int[][] textIds;
    private readonly int[][] rows;

    public PackedBatch(int[][] rows, IReadOnlyList<int[]> ids)
    {
        this.rows = rows;
        textIds = rows.SelectMany(row => row.Select(i => ids[i])).ToArray();
        TextIndices = rows.SelectMany(row => row).ToArray();
        RowLength = rows.Max(row => row.Sum(i => ids[i].Length));
        IsPacked = rows.Any(row => row.Length > 1);
    }

    /// <summary>Indices of the batch's texts, in the order of the pooled rows.</summary>
    public int[] TextIndices { get; }

    /// <summary>Tokens per row (the longest row; others are padded).</summary>
    public int RowLength { get; }

    /// <summary>Whether any row holds more than one text.</summary>
    public bool IsPacked { get; }

    /// <summary>Ids [rows, RowLength] and labels [rows, RowLength]: 0 for padding, k for the k-th text of a row.</summary>
    public (Tensor Ids, Tensor Segments) RowTensors()
    {
        var flatIds = new long[rows.Length * RowLength];
        var flatSegments = new long[rows.Length * RowLength];
        var text = 0;
        for (var r = 0; r < rows.Length; r++)
        {
            var offset = r * RowLength;
            for (var k = 0; k < rows[r].Length; k++, text++)
            {
                foreach (var id in textIds[text])
                {
                    flatIds[offset] = id;
                    flatSegments[offset++] = k + 1;
                }
            }
        }
        return (tensor(flatIds, [rows.Length, RowLength]), tensor(flatSegments, [rows.Length, RowLength]));
    }

    /// <summary>
    /// Rearranges hidden states [rows, RowLength, hidden] into one right-padded row per text
    /// [texts, longest text, hidden], with its boolean mask.
    /// </summary>
    public (Tensor Hidden, Tensor Mask) PerText(Tensor rowHidden)
    {
        using var scope = NewDisposeScope();
        var longest = textIds.Max(ids => ids.Length);
        var gather = new long[textIds.Length * longest];
        var mask = new bool[textIds.Length * longest];
        var text = 0;
        for (var r = 0; r < rows.Length; r++)
        {
            var start = (long)r * RowLength;
            foreach (var _ in rows[r])
            {
                var length = textIds[text].Length;
                for (var t = 0; t < longest; t++)
                {
                    gather[text * longest + t] = start + Math.Min(t, length - 1); // padding repeats a real row; masked out
                    mask[text * longest + t] = t < length;
                }
                start += length;
                text++;
            }
        }
        var flat = rowHidden.reshape(-1, rowHidden.shape[^1]);
        var hidden = flat.index_select(0, tensor(gather).to(rowHidden.device)).view(textIds.Length, longest, -1);
        var maskTensor = tensor(mask, [textIds.Length, longest]).to(rowHidden.device);
        return (hidden.MoveToOuterDisposeScope(), maskTensor.MoveToOuterDisposeScope());
    }
}
