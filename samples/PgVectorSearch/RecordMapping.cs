using System.Reflection;
using Microsoft.Extensions.VectorData;

namespace PgVectorSearch;

/// <summary>One mapped property: the CLR property and its column.</summary>
internal sealed record MappedProperty(PropertyInfo Property, string Column, string ColumnType)
{
    public Type ClrType => Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;
}

/// <summary>The vector property: its column, size, distance function and index, and whether it is text to embed.</summary>
internal sealed record MappedVector(PropertyInfo Property, string Column, int Dimensions, string DistanceFunction, string IndexKind)
{
    /// <summary>A string property: the collection embeds it (records) and search strings with its generator.</summary>
    public bool IsText => Property.PropertyType == typeof(string);
}

/// <summary>
/// How a record type maps to a table, read from the Microsoft.Extensions.VectorData attributes: one key, data
/// properties, one vector property. A <see cref="VectorStoreCollectionDefinition"/> may override the vector's
/// dimensions, distance function and index kind (so one record type fits models of any size).
/// </summary>
internal sealed class RecordMapping
{
    private RecordMapping(MappedProperty key, IReadOnlyList<MappedProperty> data, MappedVector vector)
    {
        Key = key;
        Data = data;
        Vector = vector;
    }

    public MappedProperty Key { get; }

    public IReadOnlyList<MappedProperty> Data { get; }

    public MappedVector Vector { get; }

    public static RecordMapping For(Type recordType, Type keyType, VectorStoreCollectionDefinition? definition)
    {
        MappedProperty? key = null;
        MappedVector? vector = null;
        var data = new List<MappedProperty>();
        foreach (var property in recordType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<VectorStoreKeyAttribute>() is { } keyAttribute)
            {
                if (key is not null) throw new NotSupportedException($"{recordType.Name} has more than one [VectorStoreKey] property.");
                if (property.PropertyType != keyType)
                    throw new InvalidOperationException($"{recordType.Name}.{property.Name} is {property.PropertyType.Name}, but the collection's key type is {keyType.Name}.");
                key = new MappedProperty(property, keyAttribute.StorageName ?? property.Name, ColumnType(property));
            }
            else if (property.GetCustomAttribute<VectorStoreDataAttribute>() is { } dataAttribute)
            {
                data.Add(new MappedProperty(property, dataAttribute.StorageName ?? property.Name, ColumnType(property)));
            }
            else if (property.GetCustomAttribute<VectorStoreVectorAttribute>() is { } vectorAttribute)
            {
                if (vector is not null) throw new NotSupportedException($"{recordType.Name} has more than one [VectorStoreVector] property; this sample collection maps one.");
                var overridden = definition?.Properties.OfType<VectorStoreVectorProperty>().FirstOrDefault(p => p.Name == property.Name);
                if (property.PropertyType != typeof(string) && property.PropertyType != typeof(ReadOnlyMemory<float>)
                    && property.PropertyType != typeof(ReadOnlyMemory<float>?) && property.PropertyType != typeof(float[]))
                    throw new NotSupportedException($"{recordType.Name}.{property.Name}: a vector property is a string (embedded by the generator), ReadOnlyMemory<float> or float[].");
                vector = new MappedVector(property,
                    overridden?.StorageName ?? vectorAttribute.StorageName ?? property.Name,
                    overridden?.Dimensions ?? vectorAttribute.Dimensions,
                    overridden?.DistanceFunction ?? vectorAttribute.DistanceFunction ?? DistanceFunction.CosineDistance,
                    overridden?.IndexKind ?? vectorAttribute.IndexKind ?? IndexKind.Hnsw);
            }
        }
        if (key is null) throw new InvalidOperationException($"{recordType.Name} has no [VectorStoreKey] property.");
        if (vector is null) throw new InvalidOperationException($"{recordType.Name} has no [VectorStoreVector] property.");
        return new RecordMapping(key, data, vector);
    }

    private static string ColumnType(PropertyInfo property)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        return type == typeof(string) ? "text"
            : type == typeof(int) ? "integer"
            : type == typeof(long) ? "bigint"
            : type == typeof(double) ? "double precision"
            : type == typeof(float) ? "real"
            : type == typeof(bool) ? "boolean"
            : type == typeof(Guid) ? "uuid"
            : throw new NotSupportedException($"{property.DeclaringType?.Name}.{property.Name}: {type.Name} is not mapped by this sample collection.");
    }
}
