using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.DependencyInjection;

/// <summary>Checks <see cref="LastTokenEmbeddingsOptions"/> before a model is loaded, with messages naming each option.</summary>
internal sealed class LastTokenEmbeddingsOptionsValidator : IValidateOptions<LastTokenEmbeddingsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, LastTokenEmbeddingsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var label = string.IsNullOrEmpty(name) ? "LastTokenEmbeddingsOptions" : $"LastTokenEmbeddingsOptions '{name}'";
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ModelDirectory))
            errors.Add($"{label}: ModelDirectory is required (a model directory or a Hugging Face id ORG/NAME).");
        else if (Hub.HuggingFaceHub.IsHubModelReference(options.ModelDirectory))
        {
            // Resolved (and downloaded when missing) at load; nothing to check on disk yet.
        }
        else if (!Directory.Exists(options.ModelDirectory))
            errors.Add($"{label}: ModelDirectory '{options.ModelDirectory}' does not exist and is not a Hugging Face id ORG/NAME.");
        else
        {
            if (!File.Exists(Path.Combine(options.ModelDirectory, "config.json")))
                errors.Add($"{label}: ModelDirectory '{options.ModelDirectory}' has no config.json.");
            if (!File.Exists(Path.Combine(options.ModelDirectory, "tokenizer.model")) && !File.Exists(Path.Combine(options.ModelDirectory, "tokenizer.json")))
                errors.Add($"{label}: ModelDirectory '{options.ModelDirectory}' has neither tokenizer.model nor tokenizer.json.");
        }
        if (options.Load is null) errors.Add($"{label}: Load must be set.");
        else if (string.IsNullOrWhiteSpace(options.Load.Device)) errors.Add($"{label}: Load.Device is required.");
        if (options.Embedding is null) errors.Add($"{label}: Embedding must be set.");
        else errors.AddRange(options.Embedding.Validate().Select(error => $"{label}: Embedding.{error}"));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
