using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>What decides a record's shard.</summary>
internal enum ShardKey
{
    /// <summary>xxHash64 (seed 0) of the id's UTF-8 bytes, modulo the shard count.</summary>
    Id,

    /// <summary>The 0-based record number, modulo the shard count.</summary>
    Row,
}

/// <summary>
/// Which records one worker embeds: shard <see cref="Index"/> of <see cref="Count"/> takes the records whose key falls in
/// it. The assignment depends only on the record (its id, or its record number), so every worker reading the same input
/// agrees and each record belongs to exactly one shard. Records without a usable id (reported as bad) are assigned by
/// record number under either key.
/// </summary>
internal readonly record struct ShardSpec(int Index, int Count, ShardKey By)
{
    /// <summary>The environment variable a Kubernetes Indexed Job sets to each pod's 0-based index.</summary>
    public const string JobCompletionIndexVariable = "JOB_COMPLETION_INDEX";

    public static ShardSpec Whole => new(0, 1, ShardKey.Id);

    public bool IsSharded => Count > 1;

    /// <summary>"shard-00002-of-00004": the prefix of this shard's files; empty when unsharded.</summary>
    public string Name => IsSharded
        ? string.Create(CultureInfo.InvariantCulture, $"shard-{Index:D5}-of-{Count:D5}")
        : "";

    public string KeyName => By == ShardKey.Id ? "id" : "row";

    public bool Owns(InputRecord record)
    {
        if (!IsSharded)
            return true;
        var bucket = By == ShardKey.Id && record.Id is { Length: > 0 } id
            ? HashId(id) % (ulong)Count
            : (ulong)(record.Row % Count);
        return bucket == (ulong)Index;
    }

    /// <summary>xxHash64 with seed 0 of the UTF-8 bytes of <paramref name="id"/> (Python: <c>xxhash.xxh64_intdigest(id.encode("utf-8"))</c>).</summary>
    public static ulong HashId(string id)
    {
        var count = Encoding.UTF8.GetByteCount(id);
        var bytes = count <= 512 ? stackalloc byte[count] : new byte[count];
        Encoding.UTF8.GetBytes(id, bytes);
        return XxHash64.HashToUInt64(bytes);
    }

    /// <summary>The shard from <c>--shard I/N</c>, or <c>--shards N</c> with <c>JOB_COMPLETION_INDEX</c>, or the whole input.</summary>
    /// <exception cref="UsageException">Malformed or contradictory values.</exception>
    public static ShardSpec Resolve(string? shard, int? shards, string? completionIndex, ShardKey by)
    {
        if (shard is not null && shards is not null)
            throw new UsageException("give either --shard I/N or --shards N (with JOB_COMPLETION_INDEX), not both.");
        if (shard is not null)
        {
            var parts = shard.Split('/');
            if (parts.Length != 2 || !TryParse(parts[0], out var index) || !TryParse(parts[1], out var count) || count < 1 || index >= count)
                throw new UsageException($"invalid --shard '{shard}'; expected I/N with 0 <= I < N, e.g. 0/4.");
            return new ShardSpec(index, count, by);
        }
        if (shards is { } total)
        {
            if (total < 1)
                throw new UsageException($"invalid --shards {total}; expected a positive integer.");
            if (string.IsNullOrWhiteSpace(completionIndex))
                throw new UsageException($"--shards needs the environment variable {JobCompletionIndexVariable} (set by a Kubernetes Indexed Job); or pass --shard I/N.");
            if (!TryParse(completionIndex.Trim(), out var index) || index >= total)
                throw new UsageException($"{JobCompletionIndexVariable} is '{completionIndex}'; expected an integer in [0, {total}) for --shards {total}.");
            return new ShardSpec(index, total, by);
        }
        return Whole with { By = by };
    }

    private static bool TryParse(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
