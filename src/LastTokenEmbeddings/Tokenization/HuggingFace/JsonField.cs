using System.Globalization;
using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// A JSON value together with its path in the file (<c>model.merges[17]</c>), so that every complaint about a
/// hostile or broken file names the file and the field. All accessors check the JSON type first and throw
/// <see cref="CheckpointException"/>, never <see cref="InvalidOperationException"/>.
/// </summary>
internal readonly struct JsonField
{
    // The path is composed only when asked for (errors, children): a vocabulary has 150k entries.
    private readonly string _parent;
    private readonly string? _key;
    private readonly int _index;
    private readonly PathKind _kind;

    public JsonField(JsonElement element, string path, string filePath)
        : this(element, path, null, 0, PathKind.Whole, filePath)
    {
    }

    private JsonField(JsonElement element, string parent, string? key, int index, PathKind kind, string filePath)
    {
        Element = element;
        _parent = parent;
        _key = key;
        _index = index;
        _kind = kind;
        FilePath = filePath;
    }

    private enum PathKind : byte
    {
        Whole,
        Property,
        Key,
        Index,
    }

    public JsonElement Element { get; }

    /// <summary>Dotted path of this value, empty for the document root.</summary>
    public string Path => _kind switch
    {
        PathKind.Property => _parent.Length == 0 ? _key! : $"{_parent}.{_key}",
        PathKind.Key => $"{_parent}['{Shorten(_key!)}']",
        PathKind.Index => $"{_parent}[{_index.ToString(CultureInfo.InvariantCulture)}]",
        _ => _parent,
    };

    public string FilePath { get; }

    public JsonValueKind Kind => Element.ValueKind;

    public bool IsNull => Element.ValueKind == JsonValueKind.Null;

    /// <summary>An exception naming the file and this field.</summary>
    public CheckpointException Error(string message) =>
        new(FilePath, Path.Length == 0 ? message : $"{Path}: {message}");

    public CheckpointException Error(string message, Exception inner) =>
        new(FilePath, Path.Length == 0 ? message : $"{Path}: {message}", innerException: inner);

    /// <summary>The property, or <see langword="null"/> when absent (a JSON <c>null</c> is returned as a field).</summary>
    public JsonField? Optional(string name)
    {
        ExpectObject();
        return Element.TryGetProperty(name, out var value) ? new JsonField(value, Path, name, 0, PathKind.Property, FilePath) : null;
    }

    /// <summary>The property when present and not <c>null</c>.</summary>
    public JsonField? OptionalNonNull(string name) => Optional(name) is { IsNull: false } field ? field : null;

    public JsonField Required(string name) =>
        Optional(name) ?? throw Error($"required field '{name}' is missing.");

    public JsonField RequiredNonNull(string name)
    {
        var field = Required(name);
        return field.IsNull ? throw field.Error("must not be null.") : field;
    }

    public void ExpectObject()
    {
        if (Element.ValueKind != JsonValueKind.Object)
            throw Error($"expected a JSON object, found {Describe()}.");
    }

    public string GetString()
    {
        if (Element.ValueKind != JsonValueKind.String)
            throw Error($"expected a string, found {Describe()}.");
        try
        {
            return Element.GetString()!;
        }
        catch (InvalidOperationException e) // an escape that is not valid UTF-16 (lone surrogate)
        {
            throw Error("holds a string that is not valid Unicode.", e);
        }
    }

    public bool GetBool() => Element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"expected true or false, found {Describe()}."),
    };

    /// <summary>A non-negative integer that fits in <see cref="int"/> (token ids, counts).</summary>
    public int GetNonNegativeInt()
    {
        if (Element.ValueKind != JsonValueKind.Number || !Element.TryGetInt64(out var value))
            throw Error($"expected an integer, found {Describe()}.");
        if (value < 0 || value > int.MaxValue)
            throw Error($"expected a non-negative integer below 2^31, found {value.ToString(CultureInfo.InvariantCulture)}.");
        return (int)value;
    }

    public double GetDouble()
    {
        if (Element.ValueKind != JsonValueKind.Number || !Element.TryGetDouble(out var value) || !double.IsFinite(value))
            throw Error($"expected a finite number, found {Describe()}.");
        return value;
    }

    public bool? OptionalBool(string name) => OptionalNonNull(name)?.GetBool();

    public string? OptionalString(string name) => OptionalNonNull(name)?.GetString();

    public bool RequiredBool(string name) => RequiredNonNull(name).GetBool();

    public string RequiredString(string name) => RequiredNonNull(name).GetString();

    public IEnumerable<JsonField> EnumerateArray()
    {
        if (Element.ValueKind != JsonValueKind.Array)
            throw Error($"expected an array, found {Describe()}.");
        int index = 0;
        string path = Path;
        foreach (var item in Element.EnumerateArray())
            yield return new JsonField(item, path, null, index++, PathKind.Index, FilePath);
    }

    /// <summary>Element <paramref name="index"/> of an array (the caller checked the length).</summary>
    public JsonField At(int index) => new(Element[index], Path, null, index, PathKind.Index, FilePath);

    public int ArrayLength()
    {
        if (Element.ValueKind != JsonValueKind.Array)
            throw Error($"expected an array, found {Describe()}.");
        return Element.GetArrayLength();
    }

    /// <summary>The properties of an object, names checked for valid Unicode.</summary>
    public IEnumerable<KeyValuePair<string, JsonField>> EnumerateObject()
    {
        ExpectObject();
        string path = Path;
        foreach (var property in Element.EnumerateObject())
        {
            string name;
            try
            {
                name = property.Name;
            }
            catch (InvalidOperationException e)
            {
                throw Error("holds a key that is not valid Unicode.", e);
            }
            yield return new(name, new JsonField(property.Value, path, name, 0, PathKind.Key, FilePath));
        }
    }

    /// <summary>The value's kind, with short scalars quoted, for error messages.</summary>
    public string Describe() => Element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => Element.GetRawText(),
        JsonValueKind.Number => Shorten(Element.GetRawText()),
        JsonValueKind.String => "a string",
        _ => Element.ValueKind.ToString(),
    };

    /// <summary>Keeps messages readable when a hostile file holds huge strings.</summary>
    public static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}
