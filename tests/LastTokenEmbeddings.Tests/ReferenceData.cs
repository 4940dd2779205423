using System.Text.Json;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests;

/// <summary>The fixture's transformers outputs: reference.json (texts, ids, cosine matrices) and reference.safetensors.</summary>
public static class ReferenceData
{
    /// <summary>Prompt modes as named in reference.json.</summary>
    public static readonly string[] Modes = ["raw", "chat", "e5"];

    private static readonly Lazy<JsonDocument> Json = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.FixtureDirectory, "reference.json"))));

    private static readonly Lazy<SafetensorsFile> Tensors = new(() =>
        SafetensorsFile.Open(Path.Combine(TestPaths.FixtureDirectory, "reference.safetensors")));

    public static JsonElement Root => Json.Value.RootElement;

    public static int TextCount => Root.GetProperty("texts").GetArrayLength();

    public static string Text(int index) => Root.GetProperty("texts")[index].GetProperty("text").GetString()!;

    public static long[] Ids(string mode, int index) =>
        Root.GetProperty("texts")[index].GetProperty("ids").GetProperty(mode).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>A reference tensor, e.g. "float32/raw/0/last_hidden_state"; caller disposes.</summary>
    public static Tensor Tensor(string key) => Tensors.Value.Read(key);

    public static IEnumerable<(string Mode, int Index)> AllInputs() =>
        Modes.SelectMany(mode => Enumerable.Range(0, TextCount).Select(i => (mode, i)));

    /// <summary>Largest absolute difference between two tensors, compared in float32.</summary>
    public static double MaxAbsDiff(Tensor actual, Tensor expected)
    {
        Assert.That(actual.shape, Is.EqualTo(expected.shape), "shape");
        using var diff = (actual.to(ScalarType.Float32) - expected.to(ScalarType.Float32)).abs().max();
        return diff.item<float>();
    }
}
