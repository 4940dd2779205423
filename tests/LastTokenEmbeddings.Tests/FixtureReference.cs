using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Modeling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests;

/// <summary>
/// One vendored fixture's references (tests/fixtures/NAME/reference.json and reference.safetensors): texts, ids per
/// mode and the expected tensors, plus a float32 model of it loaded once.
/// </summary>
internal sealed class FixtureReference
{
    private static readonly Dictionary<string, FixtureReference> Loaded = new(StringComparer.Ordinal);
    private readonly Lazy<JsonDocument> json;
    private readonly Lazy<SafetensorsFile> tensors;
    private readonly Lazy<DecoderForCausalLM> float32;

    private FixtureReference(string name)
    {
        Name = name;
        Directory = TestPaths.Fixture(name);
        json = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "reference.json"))));
        tensors = new(() => SafetensorsFile.Open(Path.Combine(Directory, "reference.safetensors")));
        float32 = new(() => DecoderForCausalLM.Load(Directory, new ModelLoadOptions { DType = ComputeDType.Float32 }));
    }

    /// <summary>The families' fixtures other than tiny-mistral (which <see cref="ReferenceData"/> covers).</summary>
    public static readonly string[] NewFamilies = ["tiny-qwen3", "tiny-qwen2", "tiny-llama", "tiny-llama3-rope"];

    public static FixtureReference Get(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var fixture))
                Loaded[name] = fixture = new FixtureReference(name);
            return fixture;
        }
    }

    public string Name { get; }

    public string Directory { get; }

    /// <summary>The fixture's model computed in float32, shared by the tests (do not dispose).</summary>
    public DecoderForCausalLM Float32 => float32.Value;

    public JsonElement Root => json.Value.RootElement;

    public int TextCount => Root.GetProperty("texts").GetArrayLength();

    public string Text(int index) => Root.GetProperty("texts")[index].GetProperty("text").GetString()!;

    public string Task => Root.GetProperty("task").GetString()!;

    public IReadOnlyList<string> Modes => Root.GetProperty("texts")[0].GetProperty("ids").EnumerateObject().Select(p => p.Name).ToArray();

    public long[] Ids(string mode, int index) =>
        Root.GetProperty("texts")[index].GetProperty("ids").GetProperty(mode).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    public bool Has(string key) => tensors.Value.Tensors.ContainsKey(key);

    /// <summary>A reference tensor, e.g. "float32/raw/0/last_hidden_state"; caller disposes.</summary>
    public Tensor Tensor(string key) => tensors.Value.Read(key);

    public IEnumerable<(string Mode, int Index)> AllInputs() =>
        Modes.SelectMany(mode => Enumerable.Range(0, TextCount).Select(i => (mode, i)));

    public override string ToString() => Name;
}
