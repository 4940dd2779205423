using System.Text.Json;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// Typed, strict access to the fields of a JSON object read from a checkpoint file. Every error is a
/// <see cref="CheckpointException"/> naming the file and the field's path (e.g. <c>rope_parameters.factor</c>).
/// </summary>
internal readonly struct JsonFields
{
    private readonly JsonElement element;
    private readonly string path;
    private readonly string prefix;

    public JsonFields(JsonElement element, string path, string prefix = "")
    {
        this.element = element;
        this.path = path;
        this.prefix = prefix;
    }

    /// <summary>The file the fields come from.</summary>
    public string FilePath => path;

    /// <summary>The raw element.</summary>
    public JsonElement Element => element;

    /// <summary>Reads a JSON file of at most <paramref name="maxBytes"/> and hands its root object to <paramref name="read"/>.</summary>
    /// <exception cref="CheckpointException">Missing, too large, not JSON, not an object, or refused by <paramref name="read"/>.</exception>
    public static T ReadFile<T>(string path, Func<JsonFields, T> read, long maxBytes = 16 * 1024 * 1024)
    {
        var name = Path.GetFileName(path);
        if (!File.Exists(path))
            throw new CheckpointException(path, $"{name} not found.");
        byte[] bytes;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > maxBytes)
                throw new CheckpointException(path, $"{name} is {length} bytes; refusing to parse more than {maxBytes / (1024 * 1024)} MiB.");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot read {name}: {e.Message}", innerException: e);
        }
        return Parse(bytes, path, read);
    }

    /// <summary>Parses JSON text held in memory; <paramref name="sourceName"/> names it in errors.</summary>
    public static T Parse<T>(ReadOnlyMemory<byte> json, string sourceName, Func<JsonFields, T> read) =>
        ParseDocument(json, sourceName, root =>
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(sourceName, $"{Path.GetFileName(sourceName)} must hold a JSON object, not {Describe(root)}.");
            return read(new JsonFields(root, sourceName));
        });

    /// <summary>Reads a JSON file whose root is a list of objects (e.g. <c>modules.json</c>).</summary>
    public static T ReadListFile<T>(string path, Func<IReadOnlyList<JsonFields>, T> read, long maxBytes = 1024 * 1024)
    {
        var name = Path.GetFileName(path);
        if (!File.Exists(path))
            throw new CheckpointException(path, $"{name} not found.");
        var length = new FileInfo(path).Length;
        if (length > maxBytes)
            throw new CheckpointException(path, $"{name} is {length} bytes; refusing to parse more than {maxBytes / 1024} KiB.");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot read {name}: {e.Message}", innerException: e);
        }
        return ParseDocument(bytes, path, root =>
        {
            if (root.ValueKind != JsonValueKind.Array)
                throw new CheckpointException(path, $"{name} must hold a JSON list, not {Describe(root)}.");
            var items = new List<JsonFields>();
            var index = 0;
            foreach (var item in root.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                    throw new CheckpointException(path, $"{name}: entry [{index}] must be an object, not {Describe(item)}.");
                items.Add(new JsonFields(item, path, $"[{index}]."));
                index++;
            }
            return read(items);
        });
    }

    private static T ParseDocument<T>(ReadOnlyMemory<byte> json, string sourceName, Func<JsonElement, T> read)
    {
        var name = Path.GetFileName(sourceName);
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            return read(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(sourceName, $"{name} is not valid JSON: {e.Message}", innerException: e);
        }
        catch (InvalidOperationException e) // e.g. a string holding a lone surrogate escape
        {
            throw new CheckpointException(sourceName, $"{name} holds an unreadable value: {e.Message}", innerException: e);
        }
    }

    /// <summary>A fresh error naming the file and <paramref name="key"/>.</summary>
    public CheckpointException Error(string key, string message) => new(path, $"'{prefix}{key}' {message}");

    /// <summary>A fresh error about the object as a whole.</summary>
    public CheckpointException Error(string message) => new(path, prefix.Length == 0 ? message : $"'{prefix.TrimEnd('.')}' {message}");

    public bool Has(string key) => element.TryGetProperty(key, out _);

    /// <summary>The value of <paramref name="key"/>, or <see langword="null"/> when absent or JSON null.</summary>
    public JsonElement? Get(string key) =>
        element.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public IEnumerable<string> Keys => element.EnumerateObject().Select(property => property.Name);

    public JsonFields? OptionalObject(string key)
    {
        if (Get(key) is not { } value) return null;
        return value.ValueKind == JsonValueKind.Object
            ? new JsonFields(value, path, $"{prefix}{key}.")
            : throw Error(key, $"must be an object, not {Describe(value)}.");
    }

    public string? OptionalString(string key)
    {
        if (Get(key) is not { } value) return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw Error(key, $"must be a string, not {Describe(value)}.");
    }

    public string RequiredString(string key) => OptionalString(key) ?? throw Error(key, "is required.");

    public bool? OptionalBool(string key)
    {
        if (Get(key) is not { } value) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(key, $"must be true or false, not {Describe(value)}."),
        };
    }

    public int RequiredPositiveInt(string key) =>
        OptionalPositiveInt(key) ?? throw Error(key, "is required (missing or null).");

    public int? OptionalPositiveInt(string key)
    {
        if (Get(key) is not { } value) return null;
        var number = Integer(key, value);
        if (number <= 0 || number > int.MaxValue)
            throw Error(key, $"must be a positive integer below 2^31, not {number}.");
        return (int)number;
    }

    public int? OptionalNonNegativeInt(string key)
    {
        if (Get(key) is not { } value) return null;
        var number = Integer(key, value);
        if (number < 0 || number > int.MaxValue)
            throw Error(key, $"must be a non-negative integer below 2^31, not {number}.");
        return (int)number;
    }

    public double? OptionalPositiveDouble(string key)
    {
        if (Get(key) is not { } value) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number) || number <= 0)
            throw Error(key, $"must be a positive number, not {Describe(value)}.");
        return number;
    }

    /// <summary>A token id, or the first of a list of ids (checkpoints may list several EOS ids).</summary>
    public int? OptionalTokenId(string key)
    {
        if (Get(key) is not { } value) return null;
        if (value.ValueKind == JsonValueKind.Array)
        {
            if (value.GetArrayLength() == 0) return null;
            value = value[0];
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var id) || id < 0)
            throw Error(key, $"must be a non-negative integer token id (or a list of them), not {Describe(value)}.");
        return id;
    }

    /// <summary>A list of strings; each entry checked.</summary>
    public IReadOnlyList<string>? OptionalStringList(string key)
    {
        if (Get(key) is not { } value) return null;
        if (value.ValueKind != JsonValueKind.Array)
            throw Error(key, $"must be a list of strings, not {Describe(value)}.");
        var list = new List<string>(value.GetArrayLength());
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw Error($"{key}[{index}]", $"must be a string, not {Describe(item)}.");
            list.Add(item.GetString()!);
            index++;
        }
        return list;
    }

    private long Integer(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
            return number;
        // 4096.0 is an integer written by some exporters; 4096.5 is not.
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var real) && real == Math.Floor(real) && Math.Abs(real) < 1e15)
            return (long)real;
        throw Error(key, $"must be an integer, not {Describe(value)}.");
    }

    /// <summary>A short description of a JSON value for messages (kind, and the text when short).</summary>
    public static string Describe(JsonElement value)
    {
        var raw = value.GetRawText();
        return value.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            _ when raw.Length <= 40 => raw,
            JsonValueKind.String => "a long string",
            _ => value.ValueKind.ToString(),
        };
    }
}
