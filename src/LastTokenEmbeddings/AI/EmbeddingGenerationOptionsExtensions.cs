using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.AI;

/// <summary>
/// Per-call settings of a <see cref="LastTokenEmbeddingGenerator"/> carried in
/// <see cref="EmbeddingGenerationOptions.AdditionalProperties"/> (as plain strings, so caching and logging middleware
/// serialise them like any other option): role, instruction, declared prompt name and truncation, mapped to
/// <see cref="EmbeddingCallOptions"/>. Calls with different settings still share forward passes.
/// </summary>
public static class EmbeddingGenerationOptionsExtensions
{
    // Entry names in AdditionalProperties; prefixed so they cannot mean something else to another component.
    internal const string RoleKey = "lte.role";
    internal const string InstructionKey = "lte.instruction";
    internal const string PromptNameKey = "lte.prompt_name";
    internal const string TruncationKey = "lte.truncation";
    internal const string TruncationDirectionKey = "lte.truncation_direction";

    /// <summary>Embeds this call's inputs as queries or as documents; sets the entry on these options and returns them.</summary>
    /// <param name="options">The options to change.</param>
    /// <param name="role">Query or document (formats such as E5 and Qwen3-Embedding treat them differently).</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    public static EmbeddingGenerationOptions WithRole(this EmbeddingGenerationOptions options, TextRole role)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(role)) throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown role.");
        return Set(options, RoleKey, role == TextRole.Query ? "query" : "document");
    }

    /// <summary>Replaces the query instruction of formats that have one (E5, Qwen3-Embedding) for this call.</summary>
    /// <param name="options">The options to change.</param>
    /// <param name="instruction">The task description, e.g. "Given a question, retrieve passages that answer it".</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    public static EmbeddingGenerationOptions WithInstruction(this EmbeddingGenerationOptions options, string instruction)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        return Set(options, InstructionKey, instruction);
    }

    /// <summary>Prepends a prompt the checkpoint declares by name (sentence-transformers' <c>prompts</c>, e.g. "query") for this call.</summary>
    /// <param name="options">The options to change.</param>
    /// <param name="promptName">The declared prompt's name.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    public static EmbeddingGenerationOptions WithPromptName(this EmbeddingGenerationOptions options, string promptName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(promptName);
        return Set(options, PromptNameKey, promptName);
    }

    /// <summary>Overrides what happens to texts over the model's token limit for this call.</summary>
    /// <param name="options">The options to change.</param>
    /// <param name="policy">Truncate or throw.</param>
    /// <param name="direction">Which end of an over-long text is cut.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    public static EmbeddingGenerationOptions WithTruncation(this EmbeddingGenerationOptions options, TruncationPolicy policy,
        TruncationDirection direction = TruncationDirection.Right)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown truncation policy.");
        if (!Enum.IsDefined(direction)) throw new ArgumentOutOfRangeException(nameof(direction), direction, "Unknown truncation direction.");
        Set(options, TruncationKey, policy == TruncationPolicy.Truncate ? "truncate" : "throw");
        return Set(options, TruncationDirectionKey, direction == TruncationDirection.Right ? "right" : "left");
    }

    /// <summary>The call settings these options ask for; what they leave unset takes the model's defaults.</summary>
    /// <param name="options">The options, or <see langword="null"/> for none.</param>
    /// <param name="defaultRole">The role when the options name none (the generator's).</param>
    /// <exception cref="ArgumentException">An entry holds a value that is not one of its known ones.</exception>
    internal static EmbeddingCallOptions ToEmbeddingCallOptions(this EmbeddingGenerationOptions? options, TextRole defaultRole)
    {
        var properties = options?.AdditionalProperties;
        if (properties is null)
            return defaultRole == TextRole.Query ? EmbeddingCallOptions.Query : EmbeddingCallOptions.Document;
        return new EmbeddingCallOptions
        {
            Role = Read(properties, RoleKey, defaultRole, ("query", TextRole.Query), ("document", TextRole.Document)),
            Instruction = ReadText(properties, InstructionKey),
            PromptName = ReadText(properties, PromptNameKey),
            Truncation = properties.ContainsKey(TruncationKey)
                ? Read(properties, TruncationKey, TruncationPolicy.Truncate, ("truncate", TruncationPolicy.Truncate), ("throw", TruncationPolicy.Throw))
                : null,
            TruncationDirection = Read(properties, TruncationDirectionKey, TruncationDirection.Right, ("right", TruncationDirection.Right), ("left", TruncationDirection.Left)),
        };
    }

    /// <summary>Whether these options name a role.</summary>
    internal static bool HasRole(this EmbeddingGenerationOptions options) =>
        options.AdditionalProperties?.ContainsKey(RoleKey) == true;

    private static EmbeddingGenerationOptions Set(EmbeddingGenerationOptions options, string key, string value)
    {
        options.AdditionalProperties ??= [];
        options.AdditionalProperties[key] = value;
        return options;
    }

    private static string? ReadText(AdditionalPropertiesDictionary properties, string key) =>
        properties.TryGetValue(key, out var value) ? value switch
        {
            null => null,
            string text => text,
            _ => throw new ArgumentException($"EmbeddingGenerationOptions.AdditionalProperties['{key}'] must be a string, not {value.GetType().Name}.", "options"),
        } : null;

    /// <summary>Reads an enum entry given as its string (as the With* methods store it) or as the enum itself.</summary>
    private static T Read<T>(AdditionalPropertiesDictionary properties, string key, T fallback, params (string Name, T Value)[] known)
        where T : struct, Enum
    {
        if (!properties.TryGetValue(key, out var value) || value is null)
            return fallback;
        if (value is T typed && Enum.IsDefined(typed))
            return typed;
        if (value is string text)
        {
            foreach (var (name, member) in known)
            {
                if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                    return member;
            }
        }
        throw new ArgumentException(
            $"EmbeddingGenerationOptions.AdditionalProperties['{key}'] is '{value}'; expected one of: {string.Join(", ", known.Select(k => k.Name))}.", "options");
    }
}
