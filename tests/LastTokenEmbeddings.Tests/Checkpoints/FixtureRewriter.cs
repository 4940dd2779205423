using System.Text.Json.Nodes;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>
/// Writes a variant of the vendored fixture into a temporary directory with the project's own safetensors
/// writer: tensors renamed, dropped, converted or added, and config.json edited.
/// </summary>
public sealed class FixtureRewriter : IDisposable
{
    public FixtureRewriter()
    {
        Directory = Path.Combine(Path.GetTempPath(), "lte-fixture-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        File.Copy(Path.Combine(TestPaths.FixtureDirectory, "tokenizer.model"), Path.Combine(Directory, "tokenizer.model"));
    }

    public string Directory { get; }

    /// <summary>
    /// Rewrites the weights. <paramref name="transform"/> maps each (name, tensor) to zero or more outputs;
    /// <paramref name="extra"/> adds tensors. The result is one model.safetensors.
    /// </summary>
    public FixtureRewriter Weights(Func<string, Tensor, IEnumerable<(string Name, Tensor Tensor)>>? transform = null,
        IEnumerable<(string Name, Tensor Tensor)>? extra = null)
    {
        using var scope = NewDisposeScope();
        using var checkpoint = ShardedCheckpoint.Open(TestPaths.FixtureDirectory);
        var output = new List<KeyValuePair<string, Tensor>>();
        foreach (var name in checkpoint.TensorNames.Order(StringComparer.Ordinal))
        {
            var tensor = checkpoint.Read(name);
            foreach (var (newName, newTensor) in transform?.Invoke(name, tensor) ?? [(name, tensor)])
                output.Add(new(newName, newTensor.contiguous()));
        }
        foreach (var (name, tensor) in extra ?? [])
            output.Add(new(name, tensor));
        SafetensorsWriter.Write(Path.Combine(Directory, "model.safetensors"), output);
        return this;
    }

    /// <summary>Writes config.json: the fixture's, edited by <paramref name="edit"/>.</summary>
    public FixtureRewriter Config(Action<JsonObject>? edit = null)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.FixtureDirectory, "config.json")))!.AsObject();
        edit?.Invoke(config);
        File.WriteAllText(Path.Combine(Directory, "config.json"), config.ToJsonString());
        return this;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
