using Microsoft.Extensions.VectorData;

namespace PgVectorSearch;

/// <summary>
/// A searchable passage. <see cref="Embedding"/> is a string property marked as the vector: the collection's embedding
/// generator turns it into a vector on upsert (and turns search strings into vectors the same way), so the record never
/// holds floats itself.
/// </summary>
public sealed class Passage
{
    /// <summary>The passage's id (primary key).</summary>
    [VectorStoreKey]
    public int Id { get; set; }

    /// <summary>The passage's text.</summary>
    [VectorStoreData(StorageName = "text")]
    public string Text { get; set; } = "";

    /// <summary>Where the passage came from.</summary>
    [VectorStoreData(StorageName = "source")]
    public string? Source { get; set; }

    /// <summary>
    /// What is embedded: the text. 64 dimensions fit the vendored tiny model; for another model override them with a
    /// <see cref="VectorStoreCollectionDefinition"/> (as <c>Program.cs</c> does) or change this number.
    /// </summary>
    [VectorStoreVector(64, StorageName = "embedding", DistanceFunction = DistanceFunction.CosineDistance, IndexKind = IndexKind.Hnsw)]
    public string Embedding => Text;
}
