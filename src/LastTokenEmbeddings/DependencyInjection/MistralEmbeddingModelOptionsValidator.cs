using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.DependencyInjection;

/// <summary>Checks <see cref="MistralEmbeddingModelOptions"/> before a model is loaded, with messages naming each option.</summary>
public sealed class MistralEmbeddingModelOptionsValidator : IValidateOptions<MistralEmbeddingModelOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, MistralEmbeddingModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var label = string.IsNullOrEmpty(name) ? "MistralEmbeddingModelOptions" : $"MistralEmbeddingModelOptions '{name}'";
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ModelDirectory))
            errors.Add($"{label}: ModelDirectory is required.");
        else if (!Directory.Exists(options.ModelDirectory))
            errors.Add($"{label}: ModelDirectory '{options.ModelDirectory}' does not exist.");
        else
        {
            foreach (var file in new[] { "config.json", "tokenizer.model" })
            {
                if (!File.Exists(Path.Combine(options.ModelDirectory, file)))
                    errors.Add($"{label}: ModelDirectory '{options.ModelDirectory}' has no {file}.");
            }
        }
        if (options.Load is null) errors.Add($"{label}: Load must be set.");
        else if (string.IsNullOrWhiteSpace(options.Load.Device)) errors.Add($"{label}: Load.Device is required.");
        if (options.Embedding is null) errors.Add($"{label}: Embedding must be set.");
        else errors.AddRange(options.Embedding.Validate().Select(error => $"{label}: Embedding.{error}"));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
