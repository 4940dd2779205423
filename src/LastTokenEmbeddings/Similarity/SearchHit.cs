namespace LastTokenEmbeddings.Similarity;

/// <summary>One result of a top-k search: a corpus row and its score against the query.</summary>
/// <typeparam name="TScore">
/// <see cref="float"/> for cosine similarity (higher is closer); <see cref="int"/> for quantized searches, where it is
/// an integer dot product (higher is closer) or a Hamming distance (lower is closer), as the searching method says.
/// </typeparam>
/// <param name="Index">The corpus row.</param>
/// <param name="Score">The row's score against the query.</param>
public readonly record struct SearchHit<TScore>(int Index, TScore Score)
    where TScore : struct;
